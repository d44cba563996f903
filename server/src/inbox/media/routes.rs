//! `POST /intwa-api/inbox/media/upload` (multipart: the file to send) and
//! `GET /intwa-api/inbox/media/{id}` (a stored file's bytes, to users of the owning account only:
//! for anyone else it is "not found").

use api_types::{send_limits, Envelope, FieldError, MediaUploaded, MessageType};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{clean_file_name, find_file, insert_file, put_bytes, sniff, MediaOrigin, NewMediaFile};
use crate::auth::CurrentUser;
use crate::db::now_millis;
use crate::inbox::outbox::{media_problem_error, size_in_words};
use crate::state::AppState;
use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::openapi::NotLoggedIn;
use crate::web::ErrorEnvelope;
use api_types::ErrorCode;

/// The largest file WhatsApp takes (a document): what the upload reads at most.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// The upload's body limit: the largest file and room for the multipart framing around it.
const UPLOAD_BODY_LIMIT: usize = MAX_FILE_BYTES as usize + 64 * 1024;

pub fn api_routes() -> OpenApiRouter<AppState> {
    // Only this route takes large bodies; every other keeps axum's 2 MB.
    let upload = OpenApiRouter::new().routes(routes!(upload_media)).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT));
    OpenApiRouter::new().merge(upload).routes(routes!(media_file))
}

/// The multipart form of `media/upload`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only described.
struct UploadForm {
    /// The file, with its type in the part's `Content-Type` and its name in `filename`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What it will be sent as (`image`, `video`, `audio`, `document`, `sticker`); by its type when absent.
    #[schema(value_type = Option<String>)]
    r#type: Option<String>,
}

/// A file for `messages/send`: checked against WhatsApp's limits for what it will be sent as
/// (its declared type, and its first bytes for the types WhatsApp takes as image, video, audio
/// or sticker), then kept in the media store.
#[utoipa::path(
    post,
    path = "/inbox/media/upload",
    tag = "inbox",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The stored file: send its mediaId", body = Envelope<MediaUploaded>),
        (status = 400, description = "No file, or one WhatsApp would refuse (code 40000, `fieldErrors` on `file` or `type`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 413, description = "Larger than 100 MB (code 41300)", body = ErrorEnvelope),
    )
)]
async fn upload_media(
    State(state): State<AppState>,
    user: CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<MediaUploaded> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::validation(vec![FieldError::new("file", "required", "Send the file as multipart/form-data, in a part named file")])
    })?;
    let mut file: Option<(BytesMut, Option<String>, Option<String>)> = None;
    let mut kind: Option<MessageType> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("file") => {
                let declared = field.content_type().map(str::to_owned);
                let name = field.file_name().and_then(clean_file_name);
                let mut bytes = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if (bytes.len() + chunk.len()) as u64 > MAX_FILE_BYTES {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((bytes, declared, name));
            }
            Some("type") => {
                let text = field.text().await.map_err(unreadable)?;
                let parsed = MessageType::parse(text.trim());
                if !parsed.is_media() {
                    return Err(ApiError::validation(vec![FieldError::new("type", "invalid", "type is image, video, audio, document or sticker")]));
                }
                kind = Some(parsed);
            }
            // Other parts are not ours to read.
            _ => {}
        }
    }
    let Some((bytes, declared, file_name)) = file else {
        return Err(ApiError::validation(vec![FieldError::new("file", "required", "Send the file in a part named file")]));
    };
    let bytes = bytes.freeze();
    let mime_type = match declared.as_deref().and_then(clean_mime) {
        Some(declared) if declared != "application/octet-stream" => declared,
        // Nothing said: the first bytes may say; otherwise it is a document of no known type.
        _ => sniff::sniff(&bytes).unwrap_or("application/octet-stream").to_owned(),
    };
    let kind = kind.unwrap_or_else(|| send_limits::kind_for_mime(&mime_type));
    if let Some(problem) = send_limits::media_problem(&kind, &mime_type, bytes.len() as u64) {
        return Err(ApiError::validation(vec![media_problem_error("file", &kind, &problem)]));
    }
    if kind != MessageType::Document && !sniff::agrees(&mime_type, &bytes) {
        return Err(ApiError::validation(vec![FieldError::new(
            "file",
            "type_mismatch",
            format!("The file is said to be {mime_type}, but its content is not"),
        )]));
    }
    let new = NewMediaFile { account_id: &user.account_id, bytes, mime_type, file_name, origin: MediaOrigin::Upload, upstream_media_id: None };
    let stored = put_bytes(&*state.media, &new).await.map_err(|error| {
        tracing::error!(%error, "an upload could not be stored");
        ApiError::new(ErrorCode::Unavailable, "The file could not be stored; try again")
    })?;
    let mut connection = state.db.acquire().await?;
    if let Err(cause) = insert_file(&mut connection, &stored, &new, now_millis()).await {
        let _ = state.media.delete(&stored.storage_key).await;
        return Err(cause.into());
    }
    ok(MediaUploaded { media_id: stored.id, mime_type: stored.mime_type, file_name: stored.file_name, size_bytes: stored.size_bytes })
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("The file is larger than {}, the most WhatsApp takes (documents)", size_in_words(MAX_FILE_BYTES)))
}

fn unreadable(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    ApiError::validation(vec![FieldError::new("file", "unreadable", format!("The upload could not be read: {}", error.body_text()))])
}

/// `type/subtype` (parameters kept), lower case; `None` for anything that is not a MIME type.
fn clean_mime(declared: &str) -> Option<String> {
    let declared = declared.trim().to_ascii_lowercase();
    let (essence, _) = declared.split_once(';').unwrap_or((&declared, ""));
    let (kind, subtype) = essence.trim().split_once('/')?;
    let token = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&byte));
    let printable = declared.bytes().all(|byte| (0x20..0x7f).contains(&byte));
    (token(kind) && token(subtype) && printable && declared.len() <= 200).then_some(declared)
}

/// A stored file's bytes: images, audio and video inline, anything else as a download.
#[utoipa::path(
    get,
    path = "/inbox/media/{id}",
    tag = "inbox",
    params(("id" = String, Path, description = "The media id (`mediaId`, or a message's `media.id`)")),
    responses(
        (status = 200, description = "The file, with its type and name (`Content-Disposition`)", content_type = "application/octet-stream", body = Vec<u8>),
        NotLoggedIn,
        (status = 404, description = "No such file in the caller's account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn media_file(State(state): State<AppState>, user: CurrentUser, Path(id): Path<String>) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("No such media file");
    let mut connection = state.db.acquire().await?;
    let file = find_file(&mut connection, &user.account_id, &id).await?.ok_or_else(not_found)?;
    drop(connection);
    let bytes = match state.media.get(&file.storage_key).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            tracing::error!(media_id = %file.id, store = state.media.name(), "a media file's bytes are missing from the store");
            return Err(not_found());
        }
        Err(error) => {
            tracing::error!(%error, "the media store failed");
            return Err(ApiError::new(ErrorCode::Unavailable, "The media store is not reachable; try again"));
        }
    };
    let content_type = HeaderValue::from_str(&file.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = content_disposition(&file.mime_type, file.file_name.as_deref(), &file.id);
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment"))),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        // A file never changes under its id, but it is the account's: no shared cache keeps it.
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable")),
        // Opened directly, a file is never a page that runs anything.
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; media-src 'self'; img-src 'self'; sandbox")),
    ];
    Ok((headers, bytes).into_response())
}

/// RFC 6266: `inline` for what WhatsApp sends as image, video, audio or sticker, `attachment` for
/// anything else; the name as ASCII in `filename` and exactly (UTF-8, RFC 5987) in `filename*`.
pub fn content_disposition(mime_type: &str, file_name: Option<&str>, fallback: &str) -> String {
    let disposition = match send_limits::kind_for_mime(mime_type) {
        MessageType::Document => "attachment",
        _ => "inline",
    };
    let name = file_name.filter(|name| !name.is_empty()).unwrap_or(fallback);
    let ascii: String = name
        .chars()
        .map(|character| if character.is_ascii() && !character.is_ascii_control() && character != '"' && character != '\\' { character } else { '_' })
        .collect();
    let mut encoded = String::new();
    for byte in name.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(byte) {
            encoded.push(char::from(*byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_attachments_with_their_exact_name_and_media_is_inline() {
        assert_eq!(
            content_disposition("application/pdf", Some("Relevé \"1\".pdf"), "id"),
            "attachment; filename=\"Relev_ _1_.pdf\"; filename*=UTF-8''Relev%C3%A9%20%221%22.pdf"
        );
        assert_eq!(content_disposition("image/jpeg", None, "f1"), "inline; filename=\"f1\"; filename*=UTF-8''f1");
        assert!(content_disposition("image/svg+xml", Some("x.svg"), "f").starts_with("attachment"), "not an image WhatsApp sends");
    }

    #[test]
    fn only_mime_types_are_kept_as_types() {
        assert_eq!(clean_mime(" Image/JPEG ").as_deref(), Some("image/jpeg"));
        assert_eq!(clean_mime("audio/ogg; codecs=opus").as_deref(), Some("audio/ogg; codecs=opus"));
        assert_eq!(clean_mime("text/html\r\nX-Evil: 1"), None);
        assert_eq!(clean_mime("nonsense"), None);
    }
}
