//! Upstream tokens and registration PINs at rest: AES-256-GCM with a key derived from the
//! operator's `secret_key` (SHA-256 of it). Stored as `v1:<base64(nonce || ciphertext)>`.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::settings::Settings;

const FORMAT_PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 12;

/// Without a secret key (sandbox mode only: live mode refuses to start without one) the key comes
/// from this fixed string. That protects nothing, and nothing real is stored in the sandbox.
const SANDBOX_KEY_MATERIAL: &str = "wadesk sandbox key: not a secret, sandbox tokens only";

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    pub fn from_settings(settings: &Settings) -> Self {
        let material = settings.secret_key.as_deref().filter(|key| !key.is_empty()).unwrap_or(SANDBOX_KEY_MATERIAL);
        SecretBox::from_key_material(material)
    }

    pub fn from_key_material(material: &str) -> Self {
        let key = Sha256::digest(material.as_bytes());
        SecretBox { cipher: Aes256Gcm::new(&key) }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{FORMAT_PREFIX}{}", STANDARD.encode(sealed))
    }

    /// `None` when the text was sealed with another key or is damaged.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed.strip_prefix(FORMAT_PREFIX)?).ok()?;
        if bytes.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plaintext = self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
        String::from_utf8(plaintext).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_the_same_key() {
        let secrets = SecretBox::from_key_material("a key of at least sixteen chars");
        let sealed = secrets.seal("EAAG-token");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("EAAG"));
        assert_ne!(sealed, secrets.seal("EAAG-token"), "a fresh nonce every time");
        assert_eq!(secrets.open(&sealed).as_deref(), Some("EAAG-token"));
        assert_eq!(SecretBox::from_key_material("another key entirely!!").open(&sealed), None);
        assert_eq!(secrets.open("v1:AAAA"), None);
        assert_eq!(secrets.open("plain"), None);
    }
}
