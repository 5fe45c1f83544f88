package dev.erofspipeline.convert.worker;

import dev.erofspipeline.convert.ConversionResult;
import dev.erofspipeline.convert.InvalidLayerException;
import dev.erofspipeline.convert.LayerConverter;
import dev.erofspipeline.convert.NativeConversionResult;
import dev.erofspipeline.convert.NativeLayerConverter;
import dev.erofspipeline.registry.RegistryException;
import dev.erofspipeline.registry.RegistryTarget;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.LayerJob;
import dev.erofspipeline.schemas.LayerResult;
import dev.erofspipeline.schemas.ResultDocument;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One layer job, start to finish, without Kafka: reuse a completed result from S3, or stream the
 * blob from its registry through the converter core into S3 and write {@code result.json} last. The
 * job's profile picks the converter: {@link LayerConverter} (tar index and tree) or, for {@link
 * ConversionProfile#NATIVE}, {@link NativeLayerConverter} (one {@code layer.erofs}); a job naming the
 * native profile with another fingerprint (parameters this worker does not produce) is refused.
 * Transient failures are retried per {@link RetryPolicy}; everything else becomes a {@link
 * JobFailedException} with a reason code, for the dead-letter topic. After {@link #abandonAll()}
 * (a shutdown whose grace period ran out) jobs in flight end in {@link JobAbandonedException}
 * instead: neither a result nor a dead letter, so the job is delivered again elsewhere.
 */
public final class LayerJobHandler {
  private static final Logger LOG = LoggerFactory.getLogger(LayerJobHandler.class);

  private final S3Staging staging;
  private final Function<String, RegistryTarget> registries;
  private final LayerConverter converter;
  private final NativeLayerConverter nativeConverter;
  private final RetryPolicy retry;
  private final WorkerMetrics metrics;
  private final String converterVersion;
  private final Set<InputStream> openBlobs = ConcurrentHashMap.newKeySet();
  private volatile boolean abandoning;

  /**
   * @param registries the registry (or OCI layout) a job's {@code registry} field names; the
   *     handler does not close what it returns (targets are shared between jobs)
   */
  public LayerJobHandler(
      S3Staging staging,
      Function<String, RegistryTarget> registries,
      LayerConverter converter,
      NativeLayerConverter nativeConverter,
      RetryPolicy retry,
      WorkerMetrics metrics,
      String converterVersion) {
    this.staging = staging;
    this.registries = registries;
    this.converter = converter;
    this.nativeConverter = nativeConverter;
    this.retry = retry;
    this.metrics = metrics;
    this.converterVersion = converterVersion;
  }

  public LayerResult handle(LayerJob job) throws JobFailedException, InterruptedException {
    if (job.profile().name().equals(ConversionProfile.NATIVE.name()) && !job.profile().isNative()) {
      throw new JobFailedException("profile.unsupported", "native profile fingerprint " + job.profile().fingerprint()
          + " is not the one this worker produces (" + ConversionProfile.NATIVE.fingerprint() + ")", null, 1);
    }
    LayerResult.Staging at = staging.location(job.layer().digest(), job.profile());
    for (int attempt = 1; ; attempt++) {
      try {
        if (!job.force()) {
          long checkStarted = System.nanoTime();
          Optional<ResultDocument> done = staging.completedResult(job.layer().digest(), job.profile());
          metrics.phase(WorkerMetrics.Phase.CHECK, System.nanoTime() - checkStarted);
          if (done.isPresent()) {
            metrics.reused();
            return new LayerResult(done.get(), at, job.registry(), job.repository(), true, job.correlationId());
          }
        }
        ResultDocument result = convert(job, at);
        return new LayerResult(result, at, job.registry(), job.repository(), false, job.correlationId());
      } catch (InvalidLayerException e) {
        abandonIfStopping(job, e);
        throw new JobFailedException(e.reason(), e.getMessage(), e, attempt);
      } catch (RegistryException e) {
        if (!e.isTransient()) {
          abandonIfStopping(job, e);
          throw new JobFailedException(registryReason(e), e.getMessage(), e, attempt);
        }
        retryOrFail(job, attempt, e);
      } catch (IOException e) {
        retryOrFail(job, attempt, e);
      }
    }
  }

  /**
   * Makes every job in flight give up without a result or a dead letter: closes their blob streams
   * so they fail at once, and keeps anything from being committed to S3 after this call.
   */
  public void abandonAll() {
    abandoning = true;
    for (InputStream in : openBlobs) {
      try {
        in.close();
      } catch (IOException ignored) {
        // closing is only a way to wake the reader up
      }
    }
  }

  private void abandonIfStopping(LayerJob job, Exception cause) {
    if (abandoning) {
      throw new JobAbandonedException("conversion of " + job.layer().digest() + " abandoned at shutdown", cause);
    }
  }

  private void retryOrFail(LayerJob job, int attempt, IOException e) throws JobFailedException, InterruptedException {
    abandonIfStopping(job, e);
    if (attempt >= retry.maxAttempts()) {
      throw new JobFailedException(
          "transient.exhausted",
          "gave up after " + attempt + " attempts: " + e.getMessage(),
          e,
          attempt);
    }
    metrics.retried();
    long waitMillis = retry.delayAfter(attempt).toMillis();
    LOG.warn("layer {} attempt {} failed ({}); retrying in {} ms", job.layer().digest(), attempt, e.getMessage(), waitMillis);
    Thread.sleep(waitMillis);
  }

  private ResultDocument convert(LayerJob job, LayerResult.Staging at)
      throws IOException, InvalidLayerException, InterruptedException {
    RegistryTarget registry;
    try {
      registry = registries.apply(job.registry());
    } catch (IllegalArgumentException e) {
      // a job naming a layout (or registry) the allowlist does not allow: a forged or stale record
      throw new RegistryException(e.getMessage(), 0, "HOST_NOT_ALLOWED", false, e);
    }
    int aborted = staging.abortUnfinishedUploads(at);
    if (aborted > 0) {
      LOG.info("layer {}: aborted {} unfinished uploads left by an earlier attempt", job.layer().digest(), aborted);
      metrics.uploadsAborted(aborted);
    }
    long started = System.nanoTime();
    metrics.started();
    // the converter checks the blob's digest in its pass; the descriptor's size is checked here
    InputStream source = registry.openBlobUnverified(job.repository(), job.layer().digest(), job.layer().size());
    openBlobs.add(source);
    try (InputStream blob = new CountingInputStream(source, metrics::bytesIn)) {
      if (abandoning) {
        source.close();
      }
      ResultDocument doc = job.profile().isNative()
          ? convertNative(job, at, blob, started) : convertTarIndex(job, at, blob, started);
      long uploaded = System.nanoTime();
      staging.putResult(at, doc);
      metrics.phase(WorkerMetrics.Phase.RESULT, System.nanoTime() - uploaded);
      metrics.converted(System.nanoTime() - started);
      return doc;
    } finally {
      openBlobs.remove(source);
      metrics.finished();
    }
  }

  /** Index and tree, each uploaded while produced; nothing becomes visible before both are complete. */
  private ResultDocument convertTarIndex(LayerJob job, LayerResult.Staging at, InputStream blob, long started)
      throws IOException, InvalidLayerException {
    try (MultipartUploadOutputStream index = staging.openIndex(at);
        MultipartUploadOutputStream tree = staging.openTree(at)) {
      ConversionResult r = converter.convert(blob, job.layer().digest(), true, job.diffId(), index, tree);
      long converted = converted(job, started);
      metrics.bytesOut(index.commit() + tree.commit());
      metrics.phase(WorkerMetrics.Phase.UPLOAD, System.nanoTime() - converted);
      return toDocument(r, job);
    }
  }

  /**
   * Records the conversion phase and returns when it ended; after a shutdown gave up on the job,
   * abandons it instead (nothing became visible yet: the uploads abort on close).
   */
  private long converted(LayerJob job, long started) {
    long converted = System.nanoTime();
    metrics.phase(WorkerMetrics.Phase.CONVERT, converted - started);
    abandonIfStopping(job, null);
    return converted;
  }

  /** {@code layer.erofs}, uploaded while produced; it becomes visible only once complete. */
  private ResultDocument convertNative(LayerJob job, LayerResult.Staging at, InputStream blob, long started)
      throws IOException, InvalidLayerException {
    try (MultipartUploadOutputStream image = staging.openBlob(at)) {
      NativeConversionResult r = nativeConverter.convert(blob, job.layer().digest(), true, job.diffId(), image);
      long converted = converted(job, started);
      metrics.bytesOut(image.commit());
      metrics.phase(WorkerMetrics.Phase.UPLOAD, System.nanoTime() - converted);
      return new ResultDocument(
          r.layerDigest(),
          r.diffId(),
          null,
          null,
          null,
          null,
          null,
          r.rootHash(),
          r.salt(),
          ResultDocument.SHA256,
          r.blockSize(),
          r.blockSize(),
          r.dataBlocks(),
          r.erofsUuid(),
          r.verityUuid(),
          null,
          converterVersion,
          job.profile(),
          null,
          new ResultDocument.NativeBlob(r.blobSize(), r.blobSha256(), r.imageSize()));
    }
  }

  private ResultDocument toDocument(ConversionResult r, LayerJob job) {
    return new ResultDocument(
        r.layerDigest(),
        r.diffId(),
        r.dataBlocks() * 512 - r.indexSize(),
        r.indexSize(),
        r.indexSha256(),
        r.treeSize(),
        r.treeSha256(),
        r.rootHash(),
        r.salt(),
        ResultDocument.SHA256,
        512,
        512,
        r.dataBlocks(),
        r.erofsUuid(),
        r.verityUuid(),
        r.erofsUtilsVersion(),
        converterVersion,
        job.profile(),
        null);
  }

  private static String registryReason(RegistryException e) {
    if ("DIGEST_INVALID".equals(e.errorCode())) {
      return "digest.mismatch";
    }
    if ("SIZE_INVALID".equals(e.errorCode())) {
      return "layer.size-mismatch";
    }
    if ("HOST_NOT_ALLOWED".equals(e.errorCode())) {
      return "registry.not-allowed";
    }
    return switch (e.status()) {
      case 401 -> "registry.unauthorized";
      case 403 -> "registry.forbidden";
      case 404 -> "registry.not-found";
      default -> "registry.status-" + e.status();
    };
  }
}
