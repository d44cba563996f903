//! The message about a form as a whole (the server refused it, sign-up is closed), under its
//! fields. Problems with one field are shown beside that field instead (`FormField`).

use leptos::prelude::*;

use crate::api::ApiError;
use crate::i18n::I18n;

/// What a form says about a failed request: "check the fields" when the server named fields
/// (their own messages are beside them), else the error itself.
pub fn form_error_text(error: &ApiError, i18n: I18n) -> String {
    match error {
        ApiError::Validation { field_errors, .. } if !field_errors.is_empty() => i18n.t("error.check_fields").to_owned(),
        other => other.describe(i18n),
    }
}

/// The form's error block (`role="alert"`), shown while `message` is `Some`.
#[component]
pub fn FormError(
    /// The test id of the block (`login-error`, `bind-error`).
    testid: &'static str,
    /// The text to show, already translated (see [`form_error_text`]); `None` hides the block.
    #[prop(into)]
    message: Signal<Option<String>>,
) -> impl IntoView {
    move || {
        message.get().map(|message| {
            view! {
                <div class="form-error" role="alert" data-testid=testid>
                    {message}
                </div>
            }
        })
    }
}
