//! Uploads from the staff pages: a file is checked, and held, as it came,
//! in this daemon's memory only, until the worker confirms it on the check
//! page. Nothing is stored before then. The confirmation names the file by
//! the digest the check page showed, so a file that is not the one checked
//! is refused, never imported in its place.
//!
//! Held files are not shared between daemons: with several daemons behind
//! one address, the check page and its confirmation must reach the same one
//! (sticky sessions), or the worker is asked to upload again.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::csv_file::{self, ImportKind, RowProblem};
use super::{IMPORT_BATCH, ImportError, ImportProgress, ImportSummary, Ingest, unknown_person};
use crate::domain::{Actor, OrgId, Person, Secret, UpsertOutcome, UserId};
use crate::planner::preview::{self, PreviewRow};
use crate::store::{ImportOutcome, ImportRecord};

/// How long a checked file waits for its confirmation.
const HOLD_FOR: Duration = Duration::minutes(30);
/// Files one user may have waiting at once; a new one drops the oldest.
const HELD_PER_USER: usize = 3;

/// What importing a checked file would do.
#[derive(Debug, Clone)]
pub struct UploadCheck {
    /// Names the held file in the confirmation.
    pub id: String,
    /// SHA-256 of the file, hex: the confirmation must repeat it.
    pub digest: String,
    pub kind: ImportKind,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Refused rows, by line; nothing of a person is repeated.
    pub problems: Vec<RowProblem>,
    /// The texts the new and changed rows would plan, soonest first.
    pub texts: Vec<PreviewRow>,
}

impl UploadCheck {
    /// Lines refused (a line may have several problems).
    #[must_use]
    pub fn rejected(&self) -> usize {
        let lines: std::collections::BTreeSet<u64> = self.problems.iter().map(|p| p.line).collect();
        lines.len()
    }
}

/// Why a confirmed upload was not imported.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(
        "this file is no longer waiting: it was imported or cancelled, or more than 30 minutes passed; upload it again"
    )]
    Gone,
    #[error("this is not the file that was checked; upload it again and check it")]
    Changed,
    #[error(transparent)]
    Import(#[from] ImportError),
}

struct Held {
    org: OrgId,
    user: UserId,
    kind: ImportKind,
    bytes: Arc<Vec<u8>>,
    digest: String,
    at: DateTime<Utc>,
}

/// Checked files waiting for their confirmation, by id.
#[derive(Default)]
pub struct HeldUploads(Mutex<HashMap<String, Held>>);

impl HeldUploads {
    fn hold(&self, held: Held, now: DateTime<Utc>) -> String {
        let id = Secret::generate().expose().to_owned();
        let mut files = self.0.lock().expect("not poisoned");
        files.retain(|_, h| now - h.at < HOLD_FOR);
        let mut mine: Vec<(String, DateTime<Utc>)> = files
            .iter()
            .filter(|(_, h)| h.user == held.user)
            .map(|(id, h)| (id.clone(), h.at))
            .collect();
        mine.sort_by_key(|(_, at)| *at);
        let excess = (mine.len() + 1).saturating_sub(HELD_PER_USER);
        for (old, _) in mine.into_iter().take(excess) {
            files.remove(&old);
        }
        files.insert(id.clone(), held);
        id
    }

    /// The file, taken so that it is imported once however often the
    /// confirmation is sent.
    fn take(&self, org: OrgId, user: UserId, id: &str, now: DateTime<Utc>) -> Option<Held> {
        let mut files = self.0.lock().expect("not poisoned");
        let mine = files
            .get(id)
            .is_some_and(|h| h.org == org && h.user == user && now - h.at < HOLD_FOR);
        if mine { files.remove(id) } else { None }
    }

    /// Drop a held file (the worker pressed Cancel).
    fn drop_file(&self, org: OrgId, user: UserId, id: &str) {
        let mut files = self.0.lock().expect("not poisoned");
        if files
            .get(id)
            .is_some_and(|h| h.org == org && h.user == user)
        {
            files.remove(id);
        }
    }
}

impl Ingest {
    /// Check a file as an import would read it, store nothing, and hold it
    /// for [`import_upload`](Self::import_upload).
    pub async fn check_upload(
        &self,
        org: OrgId,
        user: UserId,
        kind: ImportKind,
        bytes: Vec<u8>,
    ) -> Result<UploadCheck, ImportError> {
        let bytes = Arc::new(bytes);
        let (zone, mobiles, file) = (self.zone, self.mobiles.clone(), bytes.clone());
        let parsed = tokio::task::spawn_blocking(move || {
            csv_file::parse(kind, Cursor::new(file.as_slice()), zone, &mobiles)
        })
        .await
        .expect("CSV parsing does not panic")?;
        let now = self.clock.now();
        let mut check = UploadCheck {
            id: String::new(),
            digest: hex::encode(Sha256::digest(bytes.as_slice())),
            kind,
            created: 0,
            updated: 0,
            unchanged: 0,
            problems: parsed.problems,
            texts: Vec::new(),
        };
        let mut changing = Vec::new();
        let rows = parsed
            .records
            .chunks(IMPORT_BATCH)
            .zip(parsed.lines.chunks(IMPORT_BATCH));
        for (batch, lines) in rows {
            let outcomes = self
                .store
                .check_import(org, batch, now)
                .await
                .map_err(ImportError::store_after(0))?;
            for ((record, line), outcome) in batch.iter().zip(lines).zip(outcomes) {
                match outcome {
                    ImportOutcome::Done(UpsertOutcome::Created) => check.created += 1,
                    ImportOutcome::Done(UpsertOutcome::Updated) => check.updated += 1,
                    ImportOutcome::Done(UpsertOutcome::Unchanged) => check.unchanged += 1,
                    ImportOutcome::UnknownPerson => check.problems.push(unknown_person(*line)),
                }
                if matches!(outcome, ImportOutcome::Done(o) if o != UpsertOutcome::Unchanged) {
                    changing.push(record.clone());
                }
            }
        }
        check.problems.sort_by_key(|p| p.line);
        check.texts = self.texts_for(org, &changing, now).await?;
        let held = Held {
            org,
            user,
            kind,
            bytes,
            digest: check.digest.clone(),
            at: now,
        };
        check.id = self.uploads.hold(held, now);
        Ok(check)
    }

    /// Import a held file, if it is the one checked (same digest).
    pub async fn import_upload(
        &self,
        org: OrgId,
        user: UserId,
        (id, digest): (&str, &str),
        progress: &dyn ImportProgress,
    ) -> Result<ImportSummary, UploadError> {
        let held = self.uploads.take(org, user, id, self.clock.now());
        let held = held.ok_or(UploadError::Gone)?;
        if held.digest != digest {
            return Err(UploadError::Changed);
        }
        let file = Cursor::new(held.bytes.as_ref().clone());
        let actor = Actor::User { user_id: user };
        Ok(self.import(org, held.kind, file, progress, actor).await?)
    }

    /// Forget a held file.
    pub fn cancel_upload(&self, org: OrgId, user: UserId, id: &str) {
        self.uploads.drop_file(org, user, id);
    }

    /// The texts these rows would plan, as if nothing else were planned. A
    /// release row brings its person's details with it, so only the people
    /// of appointment rows are read, each once.
    async fn texts_for(
        &self,
        org: OrgId,
        records: &[ImportRecord],
        now: DateTime<Utc>,
    ) -> Result<Vec<PreviewRow>, ImportError> {
        let mut people: HashMap<String, Option<Person>> = HashMap::new();
        let mut pairs = Vec::with_capacity(records.len());
        for record in records {
            let (person, event) = match record {
                ImportRecord::Release { person, liberation } => {
                    (as_person(org, person, now), liberation)
                }
                ImportRecord::Appointment {
                    person,
                    appointment,
                } => {
                    if !people.contains_key(person.as_str()) {
                        let stored = self.store.person_by_ref(org, person).await;
                        people.insert(
                            person.as_str().to_owned(),
                            stored.map_err(ImportError::store_after(0))?,
                        );
                    }
                    let Some(stored) = people[person.as_str()].clone() else {
                        continue;
                    };
                    (stored, appointment)
                }
            };
            let event = preview::unsaved(&person, event, now);
            pairs.push((person, event));
        }
        preview::events(&self.planner, &pairs, now).map_err(ImportError::Preview)
    }
}

/// The person as a release row describes them (planning reads only their
/// details, so a stored person's id is not needed).
fn as_person(org: OrgId, new: &crate::domain::NewPerson, now: DateTime<Utc>) -> Person {
    Person {
        id: crate::domain::PersonId::new(),
        org_id: org,
        external_ref: new.external_ref.clone(),
        first_name: new.first_name.clone(),
        mobile: new.mobile.clone(),
        language: new.language.clone(),
        created_at: now,
        updated_at: now,
    }
}
