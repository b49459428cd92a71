//! Admin pages: staff accounts (invite, change role, disable: a disabled
//! or re-roled account's sessions end at once), API tokens (made with the
//! secret shown once, revoked), and the audit trail with filters. Admins
//! only; every change is on the audit trail.

mod audit;
mod tokens;
mod users;

pub(super) use audit::audit;
pub(super) use tokens::{create_token, revoke_token, tokens};
pub(super) use users::{disable, invite, invite_form, set_role, user, users};

use super::render::Page;
use super::session::StaffAdmin;
use crate::domain::Actor;

/// An admin page, marked as the Admin section.
fn page<'a>(
    staff: &'a StaffAdmin,
    template: &'static str,
    trail: &'a [(&'a str, &'a str)],
) -> Page<'a> {
    Page {
        template,
        nav: "admin",
        session: Some(&staff.0.session),
        trail,
    }
}

/// The admin, as the audit trail names them.
fn by(staff: &StaffAdmin) -> Actor {
    Actor::User {
        user_id: staff.0.session.user.id,
    }
}
