//! What every page about one person shares: the person found from the id
//! in the address (within the signed-in user's organisation, else 404), and
//! the page drawn under theirs in the breadcrumbs, with its title, the
//! person's name, the way back to their page and any errors.

use axum::response::Html;
use serde_json::Value;

use super::error::PageError;
use super::render::Page;
use super::session::Staff;
use super::sign_in::FieldError;
use crate::domain::{Person, PersonId};
use crate::http::AppState;

/// The person `id` names in the user's organisation.
pub(super) async fn person_of(
    state: &AppState,
    staff: &Staff,
    id: &str,
) -> Result<Person, PageError> {
    let id: PersonId = id.parse().map_err(|_| PageError::NotFound)?;
    let found = state.casework.person(staff.session.user.org_id, id).await?;
    found.ok_or(PageError::NotFound)
}

/// "Alex (SPS-1)": how a person is named in headings and breadcrumbs.
pub(super) fn person_name(person: &Person) -> String {
    format!(
        "{} ({})",
        person.first_name.as_str(),
        person.external_ref.as_str()
    )
}

/// A page titled `title` about `person`, below their page.
pub(super) fn person_page(
    staff: &Staff,
    person: &Person,
    (template, title): (&'static str, &str),
    mut values: Value,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    let name = person_name(person);
    let href = format!("/people/{}", person.id);
    values["title"] = title.into();
    values["label"] = name.clone().into();
    values["back"] = href.clone().into();
    values["errors"] = serde_json::to_value(errors).map_err(PageError::internal)?;
    let trail = [
        ("/", "Today"),
        ("/people", "People"),
        (href.as_str(), name.as_str()),
        ("", title),
    ];
    Page {
        template,
        nav: "people",
        session: Some(&staff.session),
        trail: &trail,
    }
    .render(values)
}
