//! What a file's first bytes say it is, for the types WhatsApp takes as image, video, audio or
//! sticker: enough to refuse a file whose declared type is not what it holds, and to name the
//! type of one declared as nothing in particular. Documents are whatever they are.

/// The MIME type the first bytes show, among the ones [`api_types::send_limits`] names; `None`
/// when they show none of them.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if starts(b"OggS") {
        return Some("audio/ogg");
    }
    if starts(b"#!AMR") {
        return Some("audio/amr");
    }
    if starts(b"ID3") {
        return Some("audio/mpeg");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return Some(match brand {
            b"3gp4" | b"3gp5" | b"3gp6" | b"3gg6" | b"3g2a" => "video/3gpp",
            b"M4A " | b"M4B " => "audio/mp4",
            _ => "video/mp4",
        });
    }
    // ADTS (AAC) and MPEG audio frames start with a sync word.
    if bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0 {
        return Some("audio/aac");
    }
    if bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0 {
        return Some("audio/mpeg");
    }
    None
}

/// Whether the bytes can be of `declared` (compared without parameters). A type we have no
/// signature for is taken at its word; one we have a signature for must show it (an MP4
/// container serves video/mp4 and audio/mp4 alike).
pub fn agrees(declared: &str, bytes: &[u8]) -> bool {
    let bare = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let checked = ["image/jpeg", "image/png", "image/webp", "audio/ogg", "audio/amr", "audio/mpeg", "audio/aac", "audio/mp4", "video/mp4", "video/3gpp"];
    if !checked.contains(&bare.as_str()) {
        return true;
    }
    match sniff(bytes) {
        Some(found) if found == bare => true,
        Some("video/mp4" | "audio/mp4" | "video/3gpp") => matches!(bare.as_str(), "video/mp4" | "audio/mp4" | "video/3gpp"),
        Some("audio/aac" | "audio/mpeg") => matches!(bare.as_str(), "audio/aac" | "audio/mpeg"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_name_the_types_whatsapp_takes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42\0\0\0\0"), Some("video/mp4"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("audio/ogg"));
        assert_eq!(sniff(b"%PDF-1.7"), None);
        assert!(agrees("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xDB]));
        assert!(!agrees("image/png", &[0xFF, 0xD8, 0xFF, 0xDB]), "a JPEG is not a PNG");
        assert!(!agrees("image/jpeg", b"<html><script>"), "nor is a page");
        assert!(agrees("audio/mp4", b"\0\0\0\x18ftypmp42\0\0\0\0"));
        assert!(agrees("application/pdf", b"anything"), "documents are what they say");
        assert!(agrees("audio/ogg; codecs=opus", b"OggS\0\x02"));
    }
}
