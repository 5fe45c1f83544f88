package dev.erofspipeline.publish.signing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * Where the password of a private key (or PKCS#12 file) comes from: nowhere, a file, or an
 * environment variable. The password itself is read only when a key is loaded, handed out as a
 * fresh {@code char[]} that the caller wipes, and never kept, printed or put in a message:
 * {@link #toString()} names only the source.
 */
public final class KeyPassword {

  private enum Kind { NONE, FILE, ENVIRONMENT, GIVEN }

  private final Kind kind;
  private final Path file;
  private final String variable;
  private final Map<String, String> environment;
  private final char[] given;

  private KeyPassword(Kind kind, Path file, String variable, Map<String, String> environment, char[] given) {
    this.kind = kind;
    this.file = file;
    this.variable = variable;
    this.environment = environment;
    this.given = given;
  }

  /** No password: the key is not encrypted. */
  public static KeyPassword none() {
    return new KeyPassword(Kind.NONE, null, null, null, null);
  }

  /**
   * The first line of a file (UTF-8; the line terminator is not part of the password), like
   * OpenSSL's {@code -passin file:}.
   */
  public static KeyPassword fromFile(Path file) {
    return new KeyPassword(Kind.FILE, Objects.requireNonNull(file, "file"), null, null, null);
  }

  /** The value of the environment variable with this name, read when the key is loaded. */
  public static KeyPassword fromEnvironment(String variable) {
    return fromEnvironment(variable, System.getenv());
  }

  /** The value of {@code variable} in {@code environment} (for tests and embedding). */
  public static KeyPassword fromEnvironment(String variable, Map<String, String> environment) {
    Objects.requireNonNull(variable, "variable");
    Objects.requireNonNull(environment, "environment");
    if (variable.isEmpty()) {
      throw new IllegalArgumentException("environment variable name is empty");
    }
    return new KeyPassword(Kind.ENVIRONMENT, null, variable, environment, null);
  }

  /** A password given in memory (a copy is kept; prefer a file or the environment). */
  public static KeyPassword of(char[] password) {
    return new KeyPassword(Kind.GIVEN, null, null, null, Objects.requireNonNull(password, "password").clone());
  }

  /** Whether a password is configured at all. */
  public boolean isPresent() {
    return kind != Kind.NONE;
  }

  /**
   * The password as a new array that the caller must wipe, or {@code null} for {@link #none()}.
   *
   * @throws SigningException if the file cannot be read or the variable is not set (the message
   *     names the file or variable, never its content)
   */
  char[] read() {
    switch (kind) {
      case NONE:
        return null;
      case GIVEN:
        return given.clone();
      case ENVIRONMENT: {
        String value = environment.get(variable);
        if (value == null) {
          throw new SigningException("key password: environment variable " + variable + " is not set");
        }
        return value.toCharArray();
      }
      case FILE:
      default:
        return readFirstLine(file);
    }
  }

  private static char[] readFirstLine(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new SigningException("key password: cannot read password file " + file + " ("
          + e.getClass().getSimpleName() + ")");
    }
    try {
      int end = 0;
      while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
        end++;
      }
      CharBuffer chars;
      try {
        chars = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes, 0, end));
      } catch (CharacterCodingException e) {
        throw new SigningException("key password: password file " + file + " is not UTF-8 text");
      }
      char[] password = new char[chars.remaining()];
      chars.get(password);
      if (chars.hasArray()) {
        Arrays.fill(chars.array(), '\0');
      }
      return password;
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  @Override
  public String toString() {
    switch (kind) {
      case NONE:
        return "KeyPassword[none]";
      case FILE:
        return "KeyPassword[file " + file + "]";
      case ENVIRONMENT:
        return "KeyPassword[environment variable " + variable + "]";
      case GIVEN:
      default:
        return "KeyPassword[given in memory]";
    }
  }
}
