//! The AWS event-stream binary framing that Bedrock's streaming operations use, and the
//! base64 that carries `InvokeModelWithResponseStream` chunks.
//!
//! A message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes),
//! the headers, the payload, and a CRC32 of everything before it. CRC32 is the IEEE
//! polynomial (what `zlib`'s `crc32` and Python's `binascii.crc32` compute).

/// The IEEE CRC32 lookup table, built at compile time.
// Indices stay below 256 in a const block (a bad index would fail the build, not panic).
#[allow(clippy::indexing_slicing)]
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC32 (IEEE) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        let idx = ((c ^ u32::from(b)) & 0xFF) as usize;
        c = CRC_TABLE.get(idx).copied().unwrap_or(0) ^ (c >> 8);
    }
    !c
}

/// Header value type 7: a UTF-8 string with a 16-bit length.
const STRING_TYPE: u8 = 7;

/// Encodes one message with string-valued headers. Header names are at most 255 bytes and
/// values at most 65,535 bytes (the format's limits); longer ones are cut (the names used
/// here are constants well inside them).
pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::with_capacity(96);
    for (name, value) in headers {
        let name = name.as_bytes();
        let name = name.get(..name.len().min(255)).unwrap_or(name);
        let value = value.as_bytes();
        let value = value.get(..value.len().min(65_535)).unwrap_or(value);
        head.push(name.len() as u8);
        head.extend_from_slice(name);
        head.push(STRING_TYPE);
        head.extend_from_slice(&(value.len() as u16).to_be_bytes());
        head.extend_from_slice(value);
    }
    let total = 12 + head.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    let prelude_crc = crc32(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An event of type `event_type` with a JSON payload.
pub fn event(event_type: &str, json: &[u8]) -> Vec<u8> {
    encode_message(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        json,
    )
}

/// An exception message of type `exception_type` (e.g. `throttlingException`) with a JSON
/// payload: how Bedrock ends a stream that already answered HTTP 200 with an error.
pub fn exception(exception_type: &str, json: &[u8]) -> Vec<u8> {
    encode_message(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json,
    )
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn empty_message_matches_the_reference_encoding() {
        // The event-stream test suite's `empty_message`: AAAAEAAAAAAFwkjrfZjI/w==
        let m = encode_message(&[], b"");
        assert_eq!(
            m,
            [
                0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xC2, 0x48, 0xEB, 0x7D, 0x98,
                0xC8, 0xFF
            ]
        );
        assert_eq!(base64(&m), "AAAAEAAAAAAFwkjrfZjI/w==");
    }

    #[test]
    fn message_layout_and_crcs() {
        let payload = br#"{"role":"assistant"}"#;
        let m = event("messageStart", payload);
        let total = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize;
        let hlen = u32::from_be_bytes([m[4], m[5], m[6], m[7]]) as usize;
        assert_eq!(total, m.len());
        assert_eq!(
            u32::from_be_bytes([m[8], m[9], m[10], m[11]]),
            crc32(&m[..8])
        );
        assert_eq!(&m[12 + hlen..total - 4], payload);
        assert_eq!(
            u32::from_be_bytes([m[total - 4], m[total - 3], m[total - 2], m[total - 1]]),
            crc32(&m[..total - 4])
        );
        // First header: name length, name, type 7, 16-bit value length, value.
        assert_eq!(m[12] as usize, ":event-type".len());
        assert_eq!(&m[13..24], b":event-type");
        assert_eq!(m[24], 7);
        assert_eq!(u16::from_be_bytes([m[25], m[26]]), 12);
        assert_eq!(&m[27..39], b"messageStart");
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
