//! File storage (`db.storage`, spec `admin-http.md` §7): upload, list and delete
//! through `$files`, the older delete/list endpoints, signed download URLs.

use std::path::Path;
use std::sync::Mutex;

use bytes::Bytes;
use futures::Stream;
use instant_core::{tx, Id, JsonObject};
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::transport::{put_header, Repeat, VERSION};
use crate::{decode, Client, Error};

/// Options of an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadOptions {
    /// `content-type` of the file (e.g. `image/png`); omitted when `None` (the server
    /// may sniff it).
    pub content_type: Option<String>,
    /// `content-disposition` to serve the file with (e.g. `attachment`).
    pub content_disposition: Option<String>,
}

impl UploadOptions {
    /// Options with a content type.
    pub fn content_type(ct: impl Into<String>) -> Self {
        UploadOptions {
            content_type: Some(ct.into()),
            content_disposition: None,
        }
    }
}

/// The answer of an upload: the `$files` entity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct UploadedFile {
    /// Id of the `$files` entity (kept when a path is uploaded again).
    pub id: Id,
    /// Storage location id, when the server sends it.
    #[serde(rename = "location-id", default)]
    pub location_id: Option<String>,
    /// Size in bytes, when the server sends it.
    #[serde(default)]
    pub size: Option<u64>,
}

/// A `$files` entity, as a `{"$files": {}}` query returns it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct FileRecord {
    /// Entity id.
    pub id: Id,
    /// The file's path (unique).
    pub path: String,
    /// A URL to download the file (signed, short-lived on the cloud).
    #[serde(default)]
    pub url: Option<String>,
    /// Any other attributes (custom `$files` attributes).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// An entry of the older `GET /admin/storage/files` listing.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct LegacyFileInfo {
    /// Storage key (`<app-id>/<bin>/<location-id>`).
    pub key: String,
    /// The file's path.
    pub name: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// ETag, usually `null`.
    #[serde(default)]
    pub etag: Option<String>,
    /// Last modification, usually `null`.
    #[serde(default)]
    pub last_modified: Option<Value>,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}
#[derive(Deserialize)]
struct IdData {
    id: Option<Id>,
}
#[derive(Deserialize)]
struct IdsData {
    #[serde(default)]
    ids: Vec<Option<Id>>,
}

/// The storage API of a [`Client`] (from [`Client::storage`]). Uploads, `$files`
/// listing and deletes follow the client's impersonation; the older list and the
/// signed download URL are admin only.
#[derive(Debug, Clone)]
pub struct Storage {
    client: Client,
}

impl Client {
    /// The storage API (`db.storage`).
    pub fn storage(&self) -> Storage {
        Storage {
            client: self.clone(),
        }
    }
}

impl Storage {
    async fn put(
        &self,
        path: &str,
        body: reqwest::Body,
        len: Option<u64>,
        opts: &UploadOptions,
    ) -> Result<UploadedFile, Error> {
        if path.trim().is_empty() {
            return Err(Error::config(
                "an upload needs a non-empty destination path",
            ));
        }
        let c = &self.client;
        let url = c.admin_url("/admin/storage/upload", &[]);
        let mut h = c.auth_headers(true)?;
        h.insert(ACCEPT, HeaderValue::from_static("*/*"));
        h.insert("instant-admin-version", HeaderValue::from_static(VERSION));
        h.insert("instant-core-version", HeaderValue::from_static(VERSION));
        put_header(&mut h, "path", path)?;
        if let Some(ct) = &opts.content_type {
            let v = HeaderValue::from_str(ct)
                .map_err(|_| Error::config("content type is not a valid header value"))?;
            h.insert(CONTENT_TYPE, v);
        }
        if let Some(cd) = &opts.content_disposition {
            put_header(&mut h, "content-disposition", cd)?;
        }
        if let Some(n) = len {
            h.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
        let t = c.transport();
        let body = Mutex::new(Some(body));
        let b = t
            .send(Repeat::Never, || {
                let r = t.request(Method::PUT, &url, h.clone());
                match body.lock().ok().and_then(|mut b| b.take()) {
                    Some(b) => r.body(b),
                    None => r,
                }
            })
            .await?;
        let d: Data<UploadedFile> = t.decode(&b)?;
        Ok(d.data)
    }

    /// Uploads `bytes` to `path` (`PUT /admin/storage/upload`, `storage.uploadFile`).
    /// Uploading to an existing path replaces the file.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty path; [`Error::Api`] (permission denied when
    /// impersonating, storage disabled).
    pub async fn upload(
        &self,
        path: &str,
        bytes: impl Into<Bytes>,
        opts: UploadOptions,
    ) -> Result<UploadedFile, Error> {
        let bytes: Bytes = bytes.into();
        let len = bytes.len() as u64;
        self.put(path, reqwest::Body::from(bytes), Some(len), &opts)
            .await
    }

    /// Streams the local file `file` to `path`, with its length as `content-length`.
    ///
    /// # Errors
    /// [`Error::Transport`] when the file cannot be opened; as
    /// [`upload`](Self::upload).
    pub async fn upload_file(
        &self,
        path: &str,
        file: impl AsRef<Path>,
        opts: UploadOptions,
    ) -> Result<UploadedFile, Error> {
        let file = file.as_ref();
        let f = tokio::fs::File::open(file).await.map_err(|e| {
            Error::transport(
                format!("cannot open {}: {e}", file.display()),
                Some(Box::new(e)),
            )
        })?;
        let len = f
            .metadata()
            .await
            .map_err(|e| Error::transport(e.to_string(), Some(Box::new(e))))?
            .len();
        let stream = tokio_util::io::ReaderStream::new(f);
        self.put(path, reqwest::Body::wrap_stream(stream), Some(len), &opts)
            .await
    }

    /// Streams chunks to `path`. `size` is the total length in bytes (sent as
    /// `content-length`, as the JS SDK requires `fileSize` for streams).
    ///
    /// # Errors
    /// As [`upload`](Self::upload); a stream error aborts the upload.
    pub async fn upload_stream<S, B, E>(
        &self,
        path: &str,
        stream: S,
        size: u64,
        opts: UploadOptions,
    ) -> Result<UploadedFile, Error>
    where
        S: Stream<Item = Result<B, E>> + Send + 'static,
        Bytes: From<B>,
        B: 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        self.put(path, reqwest::Body::wrap_stream(stream), Some(size), &opts)
            .await
    }

    /// Lists files through `$files` (a `{"$files": {}}` query).
    ///
    /// # Errors
    /// As [`Client::query_raw`], plus [`Error::Decode`].
    pub async fn list(&self) -> Result<Vec<FileRecord>, Error> {
        #[derive(Deserialize)]
        struct R {
            #[serde(rename = "$files", default)]
            files: Vec<FileRecord>,
        }
        let v = self.client.query_raw(json!({"$files": {}})).await?;
        let r: R = decode::decode_value(v)?;
        Ok(r.files)
    }

    /// Deletes the file at `path` through `$files`
    /// (`["delete", "$files", ["path", path], null]`); returns the tx id.
    ///
    /// # Errors
    /// As [`Client::transact`].
    pub async fn delete(&self, path: &str) -> Result<i64, Error> {
        self.client
            .transact(tx::lookup("$files", "path", path).delete())
            .await
    }

    /// Deletes several files in one transaction through `$files`.
    ///
    /// # Errors
    /// As [`Client::transact`].
    pub async fn delete_many<S: AsRef<str>>(&self, paths: &[S]) -> Result<i64, Error> {
        let chains: Vec<_> = paths
            .iter()
            .map(|p| tx::lookup("$files", "path", p.as_ref()).delete())
            .collect();
        self.client.transact(chains).await
    }

    /// Older delete endpoint (`DELETE /admin/storage/files?filename=..`,
    /// `storage.delete`); returns the deleted `$files` id, `None` if nothing was
    /// there.
    ///
    /// # Errors
    /// [`Error::Api`].
    pub async fn delete_legacy(&self, filename: &str) -> Result<Option<Id>, Error> {
        let d: Data<IdData> = self
            .client
            .call(
                Method::DELETE,
                "/admin/storage/files",
                &[("filename", filename)],
                None,
                true,
                Repeat::Never,
            )
            .await?;
        Ok(d.data.id)
    }

    /// Older bulk delete (`POST /admin/storage/files/delete`,
    /// `storage.deleteMany`); returns the deleted ids.
    ///
    /// # Errors
    /// [`Error::Api`].
    pub async fn delete_many_legacy<S: AsRef<str>>(
        &self,
        filenames: &[S],
    ) -> Result<Vec<Id>, Error> {
        let names: Vec<&str> = filenames.iter().map(AsRef::as_ref).collect();
        let d: Data<IdsData> = self
            .client
            .call(
                Method::POST,
                "/admin/storage/files/delete",
                &[],
                Some(&json!({"filenames": names})),
                true,
                Repeat::Never,
            )
            .await?;
        Ok(d.data.ids.into_iter().flatten().collect())
    }

    /// Older listing (`GET /admin/storage/files`, `storage.list`; admin only).
    ///
    /// # Errors
    /// [`Error::Api`].
    pub async fn list_legacy(&self) -> Result<Vec<LegacyFileInfo>, Error> {
        let d: Data<Vec<LegacyFileInfo>> = self
            .client
            .call(
                Method::GET,
                "/admin/storage/files",
                &[],
                None,
                false,
                Repeat::Safe,
            )
            .await?;
        Ok(d.data)
    }

    /// A signed URL to download `filename`
    /// (`GET /admin/storage/signed-download-url`, `storage.getDownloadUrl`; admin
    /// only).
    ///
    /// # Errors
    /// [`Error::Api`].
    pub async fn download_url(&self, filename: &str) -> Result<String, Error> {
        let d: Data<String> = self
            .client
            .call(
                Method::GET,
                "/admin/storage/signed-download-url",
                &[("filename", filename)],
                None,
                false,
                Repeat::Safe,
            )
            .await?;
        Ok(d.data)
    }
}
