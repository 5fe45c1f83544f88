package dev.erofspipeline.convert;

import dev.erofspipeline.convert.verity.VerityTreeBuilder;

/** Single thread: decode straight into one chunk, which the parser reads before the next fill. */
final class SequentialFeed extends Feed {
  private final Chunk chunk;

  SequentialFeed(LayerDecoder decoder, VerityTreeBuilder verity) {
    super(decoder, verity);
    this.chunk = new Chunk(decoder.bufferSize(), leafEntrySize(verity));
  }

  @Override
  Chunk next() throws Exception {
    int n = decoder.fill(chunk.buf);
    if (n < 0) {
      return null;
    }
    chunk.reset(n);
    return chunk;
  }

  @Override
  void recycle(Chunk c) {}

  @Override
  void abandon() {
    decoder.source().drainUnlessFailed();
  }

  @Override
  public void close() {
    decoder.close();
  }
}
