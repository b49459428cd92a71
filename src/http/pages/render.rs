//! Rendering a page: one tera instance with every page template compiled
//! in, HTML auto-escaping on (tera escapes templates whose names end in
//! `.html`), and the context every page shares.

use std::sync::LazyLock;

use axum::response::Html;
use serde::Serialize;
use tera::{Context, Tera};

use super::error::PageError;
use crate::domain::StaffSession;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "layout.html",
    "macros.html",
    "page.html",
    "sign_in.html",
    "set_password.html",
    "setup.html",
    "account.html",
    "error.html",
    "today.html",
    "people.html",
    "person.html",
    "text.html",
    "attention.html",
    "attention_item.html",
    "opt_outs.html",
    "stop_texts.html",
    "nudge.html",
    "person_details.html",
    "event.html",
    "appointment.html",
    "outcome.html",
    "templates.html",
    "user_invite.html",
    "user.html",
    "tokens.html",
    "audit.html",
    "upload.html",
    "upload_check.html",
    "upload_done.html",
    "users.html",
);

static TERA: LazyLock<Tera> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .expect("the page templates compile (checked by a unit test)");
    tera
});

/// A page's own values, and who is looking.
pub(super) struct Page<'a> {
    pub template: &'static str,
    /// The navigation item to mark as current.
    pub nav: &'static str,
    pub session: Option<&'a StaffSession>,
    /// Breadcrumbs: the pages above this one, as (address, words), then
    /// this page's own words.
    pub trail: &'a [(&'a str, &'a str)],
}

impl Page<'_> {
    pub fn render(&self, values: impl Serialize) -> Result<Html<String>, PageError> {
        let mut context = Context::from_serialize(values).map_err(PageError::internal)?;
        context.insert("nav", self.nav);
        context.insert("signed_in", &self.session.is_some());
        if let Some(((_, current), above)) = self.trail.split_last() {
            let crumbs: Vec<_> = above
                .iter()
                .map(|(href, text)| serde_json::json!({ "href": href, "text": text }))
                .collect();
            context.insert("crumbs", &crumbs);
            context.insert("crumb_current", current);
        }
        if let Some(session) = self.session {
            context.insert("csrf_token", &session.csrf_token);
            context.insert(
                "is_admin",
                &(session.user.role == crate::domain::Role::Admin),
            );
        }
        render(self.template, &context)
    }
}

pub(super) fn render(template: &str, context: &Context) -> Result<Html<String>, PageError> {
    TERA.render(template, context)
        .map(Html)
        .map_err(PageError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_template_compiles() {
        assert!(TERA.get_template_names().count() >= TEMPLATES.len());
    }
}
