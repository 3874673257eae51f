//! Options the package's browser may not have ([`crate::model::platform`]): the check
//! box is there either way, switched off and saying why where the browser cannot do it.

use quizpulse::text::k;
use quizpulse_chrome::i18n::{isolate, t, tr};
use sycamore::prelude::*;

use super::options::check_offered;
use crate::model::platform;

/// "Keep on screen until dismissed", bound to `value`.
pub(super) fn keep_on_screen(value: Signal<bool>) -> View {
    let offered = platform::keep_on_screen(
        &quizpulse_chrome::platform::current(),
        quizpulse_chrome::platform::browser(),
    );
    let hint = match &offered.browser {
        Some(name) => tr(offered.hint, &[isolate(name)]),
        None => t(offered.hint),
    };
    check_offered(
        "keep-on-screen",
        k("check_keep"),
        value,
        hint,
        offered.usable,
    )
}
