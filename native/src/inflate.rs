//! Gzip (any number of members, zero padding after the last) or plain bytes,
//! with the decompressed-size cap enforced while inflating.
//!
//! Every failure is reported as a reason to hand the file to the Python path,
//! which owns the wording of file errors: a file the native engine cannot read
//! is never reported from here.

use flate2::{Decompress, FlushDecompress, Status};

const GZIP_MAGIC: &[u8] = b"\x1f\x8b";
// Inflate at most this much per call, so the cap is checked before the
// output buffer grows past it.
const STEP: usize = 16 * 1024 * 1024;

/// The decompressed content of a file's bytes (inflated into `out` when
/// gzip), or why the Python path must read it.
pub fn contents<'a>(
    data: &'a [u8],
    max_size: usize,
    out: &'a mut Vec<u8>,
) -> Result<&'a [u8], &'static str> {
    if data.starts_with(GZIP_MAGIC) {
        gunzip_into(data, max_size, out)?;
        Ok(out)
    } else if data.len() > max_size {
        Err("file larger than the size cap")
    } else {
        Ok(data)
    }
}

fn size_hint(data: &[u8], max_size: usize) -> usize {
    // ISIZE of the last member (mod 2^32): exact for the usual one-member file.
    let n = data.len();
    let isize = if n >= 4 {
        u32::from_le_bytes([data[n - 4], data[n - 3], data[n - 2], data[n - 1]]) as usize
    } else {
        0
    };
    let guess = if isize >= n / 2 {
        isize
    } else {
        n.saturating_mul(8)
    };
    guess.min(max_size.saturating_add(1)).max(4096)
}

pub fn gunzip(data: &[u8], max_size: usize) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    gunzip_into(data, max_size, &mut out)?;
    Ok(out)
}

/// Inflates every member of `data` into `out` (cleared first).
pub fn gunzip_into(data: &[u8], max_size: usize, out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    out.reserve(size_hint(data, max_size));
    let mut pos = 0usize;
    let mut sniffed = false;
    while pos < data.len() {
        let mut inflater = Decompress::new_gzip(15);
        let input = &data[pos..];
        loop {
            if out.len() > max_size {
                return Err("decompressed size above the cap");
            }
            let room = (max_size + 1 - out.len()).min(STEP);
            if out.capacity() - out.len() < room {
                out.reserve(room);
            }
            let (consumed, produced) = (inflater.total_in() as usize, out.len());
            let status = inflater
                .decompress_vec(&input[consumed..], out, FlushDecompress::None)
                .map_err(|_| "corrupt gzip data")?;
            if !sniffed && !out.is_empty() {
                // A text that cannot be a JSON document (a bomb of zeros, say) goes to
                // the Python path at once, which names it, instead of being inflated
                // up to the cap first.
                match first_significant(out) {
                    Some(b'{') | Some(b'[') => sniffed = true,
                    Some(_) => return Err("not a JSON document"),
                    None => {}
                }
            }
            if status == Status::StreamEnd {
                break;
            }
            if inflater.total_in() as usize == consumed && out.len() == produced {
                // No progress with room to write: the input ended inside the member.
                return Err("truncated gzip data");
            }
        }
        if out.len() > max_size {
            return Err("decompressed size above the cap");
        }
        pos += inflater.total_in() as usize;
        let rest = &data[pos..];
        if !rest.is_empty() && !rest.starts_with(GZIP_MAGIC) {
            if rest.iter().any(|&b| b != 0) {
                return Err("trailing bytes after the gzip stream");
            }
            break;
        }
    }
    Ok(())
}

/// The first byte of `text` after blanks and a UTF-8 byte-order mark, if any yet.
fn first_significant(text: &[u8]) -> Option<u8> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    text.iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    fn gz(text: &[u8]) -> Vec<u8> {
        let mut c = Compress::new_gzip(Compression::default(), 15);
        let mut out = Vec::with_capacity(text.len() + 1024);
        c.compress_vec(text, &mut out, FlushCompress::Finish)
            .unwrap();
        out
    }

    #[test]
    fn members_and_padding() {
        let mut data = gz(b"{\"Records\":");
        data.extend(gz(b"[]}"));
        data.extend([0u8; 7]);
        assert_eq!(gunzip(&data, 1 << 20).unwrap(), b"{\"Records\":[]}");
    }

    #[test]
    fn text_that_cannot_be_json_stops_at_its_first_piece() {
        let zeros = vec![0u8; 64 << 20];
        assert_eq!(gunzip(&gz(&zeros), 1 << 30), Err("not a JSON document"));
        let mut doc = b"\xef\xbb\xbf \n".to_vec();
        doc.extend_from_slice(b"{\"Records\":[]}");
        assert_eq!(gunzip(&gz(&doc), 1 << 20).unwrap(), doc);
    }

    #[test]
    fn cap_truncation_and_garbage() {
        let big = vec![b' '; 1 << 20];
        assert!(gunzip(&gz(&big), 1000).is_err());
        assert_eq!(gunzip(&gz(&big), 1 << 20).unwrap().len(), 1 << 20);
        let data = gz(b"[1,2,3]");
        assert!(gunzip(&data[..data.len() - 5], 1 << 20).is_err());
        let mut bad = data.clone();
        bad.extend(b"xx");
        assert!(gunzip(&bad, 1 << 20).is_err());
        let mut out = Vec::new();
        assert!(contents(b"[1]", 2, &mut out).is_err());
        assert_eq!(contents(b"[1]", 3, &mut out).unwrap(), b"[1]");
    }
}
