package dev.erofspipeline.convert;

import dev.erofspipeline.convert.erofs.NativeImage;
import dev.erofspipeline.convert.tar.FileTree;
import dev.erofspipeline.convert.tar.TarSpool;
import dev.erofspipeline.convert.verity.VerityTreeBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HexFormat;
import java.util.Objects;
import java.util.UUID;

/**
 * Converts one layer blob (tar, tar+gzip or tar+zstd) into a full EROFS image (the native profile:
 * file data inside the image, 4096-byte blocks, uncompressed) followed by its dm-verity tree:
 * {@code [image][verity superblock][tree]}, data and hash blocks 4096, sha256, the contract's salt
 * (32 zero bytes), the hash offset being the image size.
 *
 * <p>The pass over the blob is the tar-index profile's ({@link LayerPass}): same decompression,
 * digests, limits, tar parser and file tree, so the same reason codes for bad input. While the tar
 * is parsed its bytes are spooled to a temporary file ({@link TarSpool}, in {@link
 * LayerConverter.Options#tempDir()}); once every check passed the image is written from the file
 * tree and the spool, hashed into the tree as it goes (its leaf digests on a second thread with
 * {@link LayerConverter.Options#parallel()}), then the tree is appended. Memory holds the
 * file tree and the plan, not the tar; the temporary disk used is about the size of the tar.
 *
 * <p>UUIDs: the EROFS superblock gets v5 of {@code "erofs-native:blobs/" + D} (a different
 * filesystem than the layer's tar index, so a different name); the verity superblock gets the
 * contract's {@code "dmverity:blobs/" + D} ({@link LayerUuids}).
 */
public final class NativeLayerConverter {
  private final ConversionLimits limits;
  private final LayerConverter.Options options;

  public NativeLayerConverter(ConversionLimits limits) {
    this(limits, LayerConverter.Options.DEFAULT);
  }

  public NativeLayerConverter(ConversionLimits limits, LayerConverter.Options options) {
    this.limits = Objects.requireNonNull(limits);
    this.options = Objects.requireNonNull(options);
  }

  /**
   * Converts one layer; the first four parameters are those of {@link LayerConverter#convert}.
   *
   * @param imageOut receives {@code [EROFS image][verity superblock][tree]}, only once every check
   *     passed
   */
  public NativeConversionResult convert(
      InputStream blob,
      String layerDigest,
      boolean verifyLayerDigest,
      String expectedDiffId,
      OutputStream imageOut)
      throws IOException, InvalidLayerException {
    UUID erofsUuid = LayerUuids.erofsNative(layerDigest);
    UUID verityUuid = LayerUuids.verity(layerDigest);
    try (TarSpool spool = TarSpool.create(options.tempDir())) {
      LayerPass.Outcome<NativeImage> pass =
          LayerPass.run(
              blob, layerDigest, verifyLayerDigest, expectedDiffId, limits, options, null,
              tar -> NativeImage.plan(FileTree.read(spool.tee(tar), limits), erofsUuid));
      NativeImage image = pass.parsed();
      try (VerityTreeBuilder verity =
          new VerityTreeBuilder(
              "sha256",
              NativeImage.BLOCK_SIZE,
              NativeImage.BLOCK_SIZE,
              LayerConverter.CONTRACT_SALT,
              options.verityMemoryBound(),
              options.tempDir())) {
        HashingOutputStream blobOut = new HashingOutputStream(imageOut);
        try (HashedImageOutput hashed =
            new HashedImageOutput(verity, NativeImage.BLOCK_SIZE, blobOut, options.parallel())) {
          image.write(spool, hashed);
          hashed.finish();
        }
        VerityTreeBuilder.Result tree = verity.finish(new byte[0], verityUuid, blobOut);
        blobOut.flush();
        return new NativeConversionResult(
            layerDigest,
            pass.diffId(),
            tree.rootHashHex(),
            erofsUuid.toString(),
            verityUuid.toString(),
            image.size(),
            blobOut.count,
            HexFormat.of().formatHex(blobOut.md.digest()),
            tree.dataBlocks(),
            NativeImage.BLOCK_SIZE,
            HexFormat.of().formatHex(LayerConverter.CONTRACT_SALT));
      }
    }
  }
}
