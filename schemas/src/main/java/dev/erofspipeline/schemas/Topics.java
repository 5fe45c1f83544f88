package dev.erofspipeline.schemas;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Kafka topic names of the pipeline. The constants are the base names; an installation may put a
 * prefix in front of every one of them (configuration key {@code kafka.topicPrefix}), which is
 * prepended verbatim: prefix {@code "staging."} gives {@code "staging.erofs.layer-jobs"}.
 */
public final class Topics {
  /** Image references to convert ({@link ImageRequest}). */
  public static final String IMAGE_REQUESTS = "erofs.image-requests";
  /** One record per layer to convert, keyed by layer digest ({@link LayerJob}). */
  public static final String LAYER_JOBS = "erofs.layer-jobs";
  /** Conversion results staged in S3, keyed by layer digest ({@link LayerResult}). */
  public static final String LAYER_RESULTS = "erofs.layer-results";
  /** One record per platform image manifest, keyed by subject digest ({@link ImageRecord}). */
  public static final String IMAGES = "erofs.images";
  /** Inputs a stage gave up on ({@link DeadLetter}). */
  public static final String DEAD_LETTERS = "erofs.dead-letters";
  /** Compacted per-image status, keyed by subject digest ({@link ImageStatus}). */
  public static final String STATUS = "erofs.status";
  /** Root hashes to sign, keyed by layer digest ({@link SigningRequest}). */
  public static final String SIGNING_REQUESTS = "erofs.signing-requests";
  /** Signatures from a signer, keyed by layer digest ({@link RootHashSignature}). */
  public static final String SIGNATURES = "erofs.signatures";

  /** Every base name, in pipeline order. */
  public static final List<String> ALL = List.of(IMAGE_REQUESTS, LAYER_JOBS, LAYER_RESULTS, IMAGES,
      DEAD_LETTERS, STATUS, SIGNING_REQUESTS, SIGNATURES);

  /** Kafka's legal topic characters and maximum length. */
  private static final Pattern LEGAL = Pattern.compile("[A-Za-z0-9._-]*");
  private static final int MAX_TOPIC_LENGTH = 249;
  private static final Topics DEFAULT = new Topics("");

  private final String prefix;

  private Topics(String prefix) {
    this.prefix = prefix;
  }

  /** Topic names without a prefix. */
  public static Topics defaults() {
    return DEFAULT;
  }

  /**
   * Topic names with {@code prefix} in front; null or empty means no prefix.
   *
   * @throws IllegalArgumentException if the prefix has characters Kafka does not allow in a topic
   *     name ({@code [A-Za-z0-9._-]}) or makes a name longer than 249 characters
   */
  public static Topics withPrefix(String prefix) {
    String p = prefix == null ? "" : prefix;
    if (!LEGAL.matcher(p).matches()) {
      throw new IllegalArgumentException("topic prefix '" + p
          + "' has characters Kafka does not allow in topic names (allowed: letters, digits, '.', '_', '-')");
    }
    for (String base : ALL) {
      if (p.length() + base.length() > MAX_TOPIC_LENGTH) {
        throw new IllegalArgumentException("topic prefix is too long: '" + p + base + "' exceeds "
            + MAX_TOPIC_LENGTH + " characters");
      }
    }
    return p.isEmpty() ? DEFAULT : new Topics(p);
  }

  public String prefix() {
    return prefix;
  }

  /** The full name of a base topic name (one of the constants, or any other name). */
  public String name(String baseName) {
    return prefix + Objects.requireNonNull(baseName, "baseName");
  }

  public String imageRequests() {
    return name(IMAGE_REQUESTS);
  }

  public String layerJobs() {
    return name(LAYER_JOBS);
  }

  public String layerResults() {
    return name(LAYER_RESULTS);
  }

  public String images() {
    return name(IMAGES);
  }

  public String deadLetters() {
    return name(DEAD_LETTERS);
  }

  public String status() {
    return name(STATUS);
  }

  public String signingRequests() {
    return name(SIGNING_REQUESTS);
  }

  public String signatures() {
    return name(SIGNATURES);
  }

  /** Every full topic name, in the order of {@link #ALL}. */
  public List<String> all() {
    return ALL.stream().map(this::name).toList();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Topics t && t.prefix.equals(prefix);
  }

  @Override
  public int hashCode() {
    return prefix.hashCode();
  }

  @Override
  public String toString() {
    return "Topics[prefix=" + prefix + "]";
  }
}
