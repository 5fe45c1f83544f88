package dev.erofspipeline.publish;

import dev.erofspipeline.registry.BlobSource;
import dev.erofspipeline.schemas.LayerResult;
import java.io.IOException;

/**
 * Where the staged artifacts of a layer result are read from (S3 in production): tar index and hash
 * tree (tar-index profile), or the EROFS blob (native profile).
 */
public interface ArtifactSource {

  /** The tar index ({@code index.erofs}); digest and size come from the result document. */
  BlobSource index(LayerResult result) throws IOException;

  /** The hash device ({@code tree.verity}); digest and size come from the result document. */
  BlobSource tree(LayerResult result) throws IOException;

  /** The native profile's {@code layer.erofs}; digest and size come from the result document. */
  BlobSource blob(LayerResult result) throws IOException;
}
