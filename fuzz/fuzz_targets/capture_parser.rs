//! Arbitrary bytes as a capture file, read the two ways exwatch reads captures: as one buffer
//! (a memory-mapped file: `CaptureParser::detect`, then `next` to the end) and as a stream
//! (`StreamReader` over a `&[u8]`, as stdin is read). Both must agree frame for frame and stop
//! at the same place for the same reason.

#![no_main]

use exwatch::capture::format::DETECT_LEN;
use exwatch::capture::{CaptureParser, Detect, Frame, Next, StreamReader};
use libfuzzer_sys::fuzz_target;

/// How a read ended: `Ok` at the end of the input, or damage at an offset.
type End = Result<(), u64>;

/// The whole input as one buffer, like `MappedFile::for_each`. `None`: not a capture.
fn as_buffer(data: &[u8]) -> Option<(Vec<Frame<'_>>, End)> {
    let Detect::Capture { mut parser, header_len } = CaptureParser::detect(&data[..data.len().min(DETECT_LEN)]) else {
        return None;
    };
    assert!(header_len <= data.len());
    let mut frames = Vec::new();
    let mut pos = header_len;
    let end = loop {
        let before = pos;
        match parser.next(data, &mut pos, 0) {
            Next::Frame(fr) => {
                assert!(
                    pos > before && pos <= data.len(),
                    "position went from {before} to {pos}"
                );
                assert!(fr.data.len() as u64 <= fr.orig_len as u64);
                // the frame is a slice of the input, inside the record just read
                let off = fr.data.as_ptr() as usize - data.as_ptr() as usize;
                assert!(off >= before && off + fr.data.len() <= pos);
                std::hint::black_box(fr.data.iter().fold(0u8, |a, b| a ^ b));
                frames.push(fr);
            }
            // pcapng: blocks that are not frames (statistics, name resolution…) before the
            // stop are consumed, so the position may have moved past them.
            Next::NeedMore { needed } => {
                assert!(pos >= before && pos <= data.len());
                assert!(needed > 0);
                break if pos == data.len() { Ok(()) } else { Err(pos as u64) };
            }
            Next::Damaged(d) => {
                assert!(pos >= before && pos <= data.len());
                assert_eq!(d.offset, pos as u64, "damage reported away from the position: {d}");
                break Err(d.offset);
            }
        }
    };
    Some((frames, end))
}

fuzz_target!(|data: &[u8]| {
    let buffered = as_buffer(data);
    let (frames, end, reader) = match (buffered, StreamReader::open("fuzz", data)) {
        (None, Err(_)) => return,
        (Some((frames, end)), Ok(reader)) => (frames, end, reader),
        (b, s) => panic!(
            "detect disagrees: buffer says {}, stream says {}",
            if b.is_some() { "capture" } else { "not a capture" },
            if s.is_ok() { "capture" } else { "not a capture" }
        ),
    };
    let mut i = 0usize;
    let res = reader.for_each(|chunk, fr, off| {
        assert!(off + fr.data.len() <= chunk.len());
        assert_eq!(&chunk[off..off + fr.data.len()], fr.data);
        let Some(want) = frames.get(i) else {
            panic!("the stream gave more frames than the buffer ({})", frames.len());
        };
        assert_eq!(
            (fr.ts_ns, fr.link_type, fr.orig_len, fr.data),
            (want.ts_ns, want.link_type, want.orig_len, want.data),
            "frame {i} differs"
        );
        i += 1;
    });
    assert_eq!(
        i,
        frames.len(),
        "the stream gave {i} frames, the buffer {}",
        frames.len()
    );
    assert_eq!(
        res.map_err(|d| d.offset),
        end,
        "the stream and the buffer stop differently"
    );
});
