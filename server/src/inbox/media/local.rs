//! The default media store: files in a directory of this machine (one server, or several that
//! share the directory).

use std::path::PathBuf;

use bytes::Bytes;

use super::{key_is_safe, MediaStore, MediaStoreError, MediaStoreResult};

pub struct LocalMediaStore {
    root: PathBuf,
}

impl LocalMediaStore {
    /// The directory is made when the first file is put, not before (a server that never sees
    /// media leaves nothing behind).
    pub fn new(root: PathBuf) -> LocalMediaStore {
        LocalMediaStore { root }
    }

    fn path_of(&self, key: &str) -> MediaStoreResult<PathBuf> {
        if !key_is_safe(key) {
            return Err(self.error(format!("{key:?} is not a media key")));
        }
        Ok(self.root.join(key))
    }

    fn error(&self, cause: impl Into<String>) -> MediaStoreError {
        MediaStoreError { store: "local", cause: cause.into() }
    }
}

#[async_trait::async_trait]
impl MediaStore for LocalMediaStore {
    fn name(&self) -> &'static str {
        "local"
    }

    /// Written to a temporary name and renamed into place, so a reader never sees half a file.
    async fn put(&self, key: &str, bytes: Bytes) -> MediaStoreResult<()> {
        let path = self.path_of(key)?;
        let folder = path.parent().expect("a key has a folder").to_path_buf();
        tokio::fs::create_dir_all(&folder)
            .await
            .map_err(|cause| self.error(format!("cannot create {}: {cause}", folder.display())))?;
        let partial = path.with_extension(format!("partial-{}", crate::db::new_id()));
        tokio::fs::write(&partial, &bytes).await.map_err(|cause| self.error(format!("cannot write {}: {cause}", partial.display())))?;
        tokio::fs::rename(&partial, &path).await.map_err(|cause| {
            let _ = std::fs::remove_file(&partial);
            self.error(format!("cannot move {} into place: {cause}", path.display()))
        })
    }

    async fn get(&self, key: &str) -> MediaStoreResult<Option<Bytes>> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(cause) if cause.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(cause) => Err(self.error(format!("cannot read {}: {cause}", path.display()))),
        }
    }

    async fn delete(&self, key: &str) -> MediaStoreResult<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(cause) if cause.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(cause) => Err(self.error(format!("cannot delete {}: {cause}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_put_read_replaced_and_deleted_on_disk() {
        let root = std::env::temp_dir().join(format!("wadesk-media-test-{}", crate::db::new_id()));
        let store = LocalMediaStore::new(root.clone());
        assert_eq!(store.get("acc/one").await.unwrap(), None, "nothing yet, and no directory made");
        assert!(!root.exists());
        store.put("acc/one", Bytes::from_static(b"first")).await.unwrap();
        assert_eq!(std::fs::read(root.join("acc/one")).unwrap(), b"first");
        store.put("acc/one", Bytes::from_static(b"second")).await.unwrap();
        assert_eq!(store.get("acc/one").await.unwrap().as_deref(), Some(&b"second"[..]));
        let leftovers: Vec<_> = std::fs::read_dir(root.join("acc")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no partial file left behind");
        store.delete("acc/one").await.unwrap();
        store.delete("acc/one").await.unwrap();
        assert_eq!(store.get("acc/one").await.unwrap(), None);
        let refused = store.put("../escape", Bytes::from_static(b"x")).await.unwrap_err();
        assert!(refused.to_string().contains("not a media key"), "{refused}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
