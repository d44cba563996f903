//! Media in an object store through the `object_store` crate: an S3-compatible bucket (AWS, or
//! MinIO / R2 / ... by endpoint) shared by every server instance, or its in-memory store in tests.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use super::{key_is_safe, MediaStore, MediaStoreError, MediaStoreResult};
use crate::settings::Settings;

#[derive(Debug)]
pub struct ObjectMediaStore {
    objects: Arc<dyn ObjectStore>,
    /// Every key goes under this prefix (`media` by default).
    prefix: String,
    name: &'static str,
}

impl ObjectMediaStore {
    /// The bucket of `--media-s3-bucket`, at `--media-s3-endpoint` when set (plain `http://`
    /// allowed there, for a store on the local network). Credentials and anything not set here
    /// come from the `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, ...). Nothing is contacted until the first file.
    pub fn s3_from_settings(settings: &Settings) -> Result<ObjectMediaStore, String> {
        let bucket = settings.media_s3_bucket.as_deref().map(str::trim).filter(|bucket| !bucket.is_empty());
        let bucket = bucket.ok_or("--media-store s3 needs --media-s3-bucket (WADESK_MEDIA_S3_BUCKET)")?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = settings.media_s3_endpoint.as_deref().filter(|endpoint| !endpoint.is_empty()) {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = settings.media_s3_region.as_deref().filter(|region| !region.is_empty()) {
            builder = builder.with_region(region);
        }
        let s3 = builder.build().map_err(|cause| format!("the S3 media store cannot be set up: {cause}"))?;
        Ok(ObjectMediaStore::new(Arc::new(s3), &settings.media_s3_prefix, "s3"))
    }

    /// `object_store`'s in-memory store, behind the same trait (tests).
    pub fn in_memory(prefix: &str) -> ObjectMediaStore {
        ObjectMediaStore::new(Arc::new(object_store::memory::InMemory::new()), prefix, "memory")
    }

    fn new(objects: Arc<dyn ObjectStore>, prefix: &str, name: &'static str) -> ObjectMediaStore {
        ObjectMediaStore { objects, prefix: prefix.trim_matches('/').to_owned(), name }
    }

    fn location(&self, key: &str) -> MediaStoreResult<Path> {
        if !key_is_safe(key) {
            return Err(self.error(format!("{key:?} is not a media key")));
        }
        let full = if self.prefix.is_empty() { key.to_owned() } else { format!("{}/{key}", self.prefix) };
        Path::parse(&full).map_err(|cause| self.error(cause.to_string()))
    }

    fn error(&self, cause: impl Into<String>) -> MediaStoreError {
        MediaStoreError { store: self.name, cause: cause.into() }
    }
}

#[async_trait::async_trait]
impl MediaStore for ObjectMediaStore {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn put(&self, key: &str, bytes: Bytes) -> MediaStoreResult<()> {
        let location = self.location(key)?;
        self.objects.put(&location, PutPayload::from_bytes(bytes)).await.map_err(|cause| self.error(cause.to_string()))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> MediaStoreResult<Option<Bytes>> {
        let location = self.location(key)?;
        match self.objects.get(&location).await {
            Ok(found) => found.bytes().await.map(Some).map_err(|cause| self.error(cause.to_string())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(cause) => Err(self.error(cause.to_string())),
        }
    }

    async fn delete(&self, key: &str) -> MediaStoreResult<()> {
        let location = self.location(key)?;
        match self.objects.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(cause) => Err(self.error(cause.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[tokio::test]
    async fn the_in_memory_store_behaves_like_the_local_one_under_the_prefix() {
        let store = ObjectMediaStore::in_memory("media/");
        assert_eq!(store.get("acc/one").await.unwrap(), None);
        store.put("acc/one", Bytes::from_static(b"first")).await.unwrap();
        store.put("acc/one", Bytes::from_static(b"second")).await.unwrap();
        assert_eq!(store.get("acc/one").await.unwrap().as_deref(), Some(&b"second"[..]));
        // Kept under the prefix, as a bucket shared with other things would need.
        let listed = store.objects.head(&Path::from("media/acc/one")).await.unwrap();
        assert_eq!(listed.size, 6);
        store.delete("acc/one").await.unwrap();
        store.delete("acc/one").await.unwrap();
        assert_eq!(store.get("acc/one").await.unwrap(), None);
        assert!(store.put("../x", Bytes::new()).await.is_err());
    }

    #[test]
    fn s3_is_configured_from_the_settings_without_contacting_anything() {
        let mut settings = Settings::parse_from(["wadesk-server", "--media-store", "s3", "--media-s3-bucket", "wadesk-media",
            "--media-s3-endpoint", "http://127.0.0.1:9000", "--media-s3-region", "eu-west-1", "--media-s3-prefix", "/tenant-a/"]);
        let store = ObjectMediaStore::s3_from_settings(&settings).unwrap();
        assert_eq!((store.name(), store.prefix.as_str()), ("s3", "tenant-a"));
        assert_eq!(store.location("acc/f1").unwrap().as_ref(), "tenant-a/acc/f1");
        assert!(store.objects.to_string().contains("wadesk-media"), "{}", store.objects);
        settings.media_s3_bucket = None;
        assert!(ObjectMediaStore::s3_from_settings(&settings).unwrap_err().contains("--media-s3-bucket"));
        assert!(settings.validate().unwrap_err().contains("--media-s3-bucket"));
    }
}
