//! A tiny PNG encoder for the image `/photo` uploads.
//!
//! It writes 8-bit RGB with no filtering and *stored* (uncompressed) deflate blocks, which every decoder accepts,
//! so the bot needs no image or compression crate. It is not a general encoder: no palettes, alpha or compression.

/// The 8-byte PNG file signature.
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// The largest payload of one stored deflate block.
const MAX_STORED_BLOCK: usize = 65_535;

/// Encodes a `width`×`height` RGB image whose pixel at (x, y) is `pixel(x, y)`.
pub(crate) fn encode_rgb(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(height as usize * (1 + 3 * width as usize));
    for y in 0..height {
        // Each scanline starts with its filter type; 0 means "none".
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&pixel(x, y));
        }
    }

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), compression 0, filter 0, interlace 0.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut png = SIGNATURE.to_vec();
    write_chunk(&mut png, b"IHDR", &ihdr);
    write_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    write_chunk(&mut png, b"IEND", &[]);
    png
}

/// The picture the bot sends: a small diagonal gradient, different enough from noise to look intentional.
pub(crate) fn gradient(size: u32) -> Vec<u8> {
    let scale = |v: u32| (v * 255 / size.max(2).saturating_sub(1)).min(255) as u8;
    encode_rgb(size, size, |x, y| [scale(x), scale(y), 160])
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).expect("png chunk larger than 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    // The CRC covers the chunk type and data, not the length.
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream holding `data` in stored deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let n_blocks = data.len().div_ceil(MAX_STORED_BLOCK).max(1);
    let mut out = Vec::with_capacity(2 + data.len() + 5 * n_blocks + 4);
    // CMF: deflate with a 32 KiB window; FLG: no dictionary, fastest level, and (CMF*256+FLG) % 31 == 0.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(MAX_STORED_BLOCK).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        let is_final = u8::from(blocks.peek().is_none());
        let len = u16::try_from(block.len()).expect("stored block fits u16");
        // BFINAL in bit 0, BTYPE 00 (stored); the rest of the byte is padding up to the byte boundary.
        out.push(is_final);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// CRC-32 (IEEE 802.3, reflected), bit by bit: the images are tiny, so a table buys nothing.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1_u32, 0_u32);
    for &byte in data {
        a = (a + u32::from(byte)) % MOD;
        b = (b + a) % MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PNG reader for what `encode_rgb` writes: checks every CRC and the zlib framing, returns
    /// (width, height, raw scanlines).
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(png[..8], SIGNATURE);
        let mut rest = &png[8..];
        let (mut ihdr, mut idat, mut kinds) = (Vec::new(), Vec::new(), Vec::new());
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let kind = &rest[4..8];
            let data = &rest[8..8 + len];
            let crc = u32::from_be_bytes(rest[8 + len..12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&rest[4..8 + len]), "bad crc in {:?}", String::from_utf8_lossy(kind));
            match kind {
                b"IHDR" => ihdr = data.to_vec(),
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            kinds.push(String::from_utf8_lossy(kind).into_owned());
            rest = &rest[12 + len..];
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        assert_eq!(ihdr[8..], [8, 2, 0, 0, 0]);
        let width = u32::from_be_bytes(ihdr[..4].try_into().unwrap());
        let height = u32::from_be_bytes(ihdr[4..8].try_into().unwrap());
        (width, height, inflate_stored(&idat))
    }

    fn inflate_stored(zlib: &[u8]) -> Vec<u8> {
        assert_eq!((u16::from(zlib[0]) << 8 | u16::from(zlib[1])) % 31, 0, "bad zlib header check");
        let (mut pos, mut out) = (2, Vec::new());
        loop {
            let header = zlib[pos];
            assert_eq!(header & 0b110, 0, "not a stored block");
            let len = u16::from_le_bytes([zlib[pos + 1], zlib[pos + 2]]);
            let nlen = u16::from_le_bytes([zlib[pos + 3], zlib[pos + 4]]);
            assert_eq!(len, !nlen);
            out.extend_from_slice(&zlib[pos + 5..pos + 5 + usize::from(len)]);
            pos += 5 + usize::from(len);
            if header & 1 == 1 {
                break;
            }
        }
        assert_eq!(zlib[pos..], adler32(&out).to_be_bytes());
        out
    }

    #[test]
    fn checksums_match_reference_vectors() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn encodes_a_decodable_image() {
        let png = encode_rgb(3, 2, |x, y| [x as u8, y as u8, 7]);
        let (width, height, raw) = decode(&png);
        assert_eq!((width, height), (3, 2));
        let expected = [0, 0, 0, 7, 1, 0, 7, 2, 0, 7, 0, 0, 1, 7, 1, 1, 7, 2, 1, 7];
        assert_eq!(raw, expected);
    }

    #[test]
    fn splits_large_images_into_several_stored_blocks() {
        // 200×200 RGB is 120,200 raw bytes: two stored blocks.
        let png = encode_rgb(200, 200, |x, y| [x as u8, y as u8, 0]);
        let (width, height, raw) = decode(&png);
        assert_eq!((width, height), (200, 200));
        assert_eq!(raw.len(), 200 * (1 + 3 * 200));
        assert_eq!(raw[1 + 3 * 199..1 + 3 * 200], [199, 0, 0]);
    }

    #[test]
    fn gradient_is_a_small_valid_png() {
        let png = gradient(32);
        let (width, height, raw) = decode(&png);
        assert_eq!((width, height), (32, 32));
        assert_eq!(raw[1..4], [0, 0, 160]);
        assert!(png.len() < 4096);
    }
}
