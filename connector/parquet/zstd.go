package parquet

import (
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// pageZstd compresses the Parquet pages the sink writes (zstd level 1):
// one encoder per process, kept for its life, with a window of one page.
//
// arrow-go's own zstd codec takes its encoders from a sync.Pool, which
// drops them at every garbage collection, and the next page written
// allocates a new encoder with an 8 MB window: measured on a 20,000-call
// extract, those encoders were a sixth of the live heap at its peak, and
// their churn drove the collector. A page is at most the writer's data
// page size (1 MB) or a dictionary page, so a window of 1 MB loses nothing
// of the compression within a page, and one encoder serves every column
// (EncodeAll may be called concurrently; it takes turns).
type pageZstd struct {
	compress.Codec // arrow-go's: decoding, bounds
	enc            func() *zstd.Encoder
}

// pageWindow is the encoder's window: a data page's default size.
const pageWindow = 1 << 20

func newPageZstd(base compress.Codec) pageZstd {
	return pageZstd{Codec: base, enc: sync.OnceValue(func() *zstd.Encoder {
		// The options are constants the library accepts: no error.
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(pageWindow),
			zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true), zstd.WithLowerEncoderMem(true))
		return enc
	})}
}

// Encode and EncodeLevel compress src at the sink's level (1, the fastest);
// the level asked is ignored, the sink asks for no other.
func (z pageZstd) Encode(dst, src []byte) []byte { return z.enc().EncodeAll(src, dst[:0]) }

func (z pageZstd) EncodeLevel(dst, src []byte, _ int) []byte { return z.Encode(dst, src) }

// The codec is registered for zstd once, before any file is written; it
// replaces arrow-go's for the process (the registry is arrow-go's, keyed by
// codec, and has no other way in).
func init() {
	base, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return // an arrow-go without zstd: the sink's files fail to open, saying so
	}
	compress.RegisterCodec(compress.Codecs.Zstd, newPageZstd(base))
}
