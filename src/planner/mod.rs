//! Planning: from release dates and appointments to scheduled texts.
//!
//! Each event × matching enabled rule becomes at most one message, rendered
//! when planned so that what staff preview is exactly what is sent. Planning
//! runs after every change through the API or an import, and on a schedule
//! (the sweep), and is idempotent: running it twice adds nothing. Moved or
//! cancelled events cancel their waiting texts; sending hours and the
//! per-number daily cap then decide when each waiting text goes.

mod caps;
mod context;
mod fitting;
mod nudge;
mod plan;
pub mod preview;
pub mod rules;
pub mod timing;
mod typed;
mod walk;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{
    Event, EventDetail, Message, MessageBody, MessageOrigin, MessageState, NewMessage, OrgId,
    Person, PersonId, PhoneNumber, TemplateName,
};
use crate::store::{MessageUpdate, PlanChanges, Store, StoreError};
use crate::templates::{
    CheckRules, RenderedText, TemplateCatalogue, TemplateError, TypedProblem, Variables,
};
pub use caps::{Candidate, CapPolicy, ExpiryReason, Placement, fit};
pub use context::service_words;
pub use nudge::{NudgeRequest, NudgeText};
use plan::Wanted;
use rules::CampaignRule;
pub use typed::{Planned, ReplyRequest};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    /// A field of the request names something planning does not allow; the
    /// value is a name from a fixed list (a template, a goal), never personal.
    #[error("{field} {value:?} {reason}")]
    Refused {
        field: &'static str,
        value: String,
        reason: String,
    },
    /// A text staff typed failed its checks, or has warnings not confirmed.
    #[error("{}", typed::sentences(.0))]
    TextRefused(Vec<TypedProblem>),
    #[error(
        "this person has opted out (they texted STOP); nothing can be sent until they text START"
    )]
    OptedOut,
}

/// What planning a page decided before it read the other texts to its
/// numbers: texts to create, re-render and cancel.
struct Draft {
    now: DateTime<Utc>,
    /// The page's events' texts as read, which the changes were made from.
    stored: Vec<Message>,
    changes: PlanChanges,
}

/// What a planning run changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanReport {
    pub created: usize,
    pub updated: usize,
    pub cancelled: usize,
    pub expired: usize,
}

impl PlanReport {
    fn add(&mut self, other: PlanReport) {
        self.created += other.created;
        self.updated += other.updated;
        self.cancelled += other.cancelled;
        self.expired += other.expired;
    }
}

/// Everything planning needs, shared cheaply between tasks.
#[derive(Clone)]
pub struct Planner {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    catalogue: TemplateCatalogue,
    rules: Vec<CampaignRule>,
    policy: CapPolicy,
    /// The template rules, which staff's typed texts pass too.
    text_rules: CheckRules,
    nudge_horizon: Duration,
    /// The goals staff may record: the rules' and `planner.extra_goals`.
    goals: BTreeSet<String>,
}

impl Planner {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        catalogue: TemplateCatalogue,
        rules: Vec<CampaignRule>,
        policy: CapPolicy,
        settings: &Settings,
    ) -> Self {
        let text_rules = CheckRules::from_settings(&settings.templates);
        let nudge_horizon = Duration::days(settings.planner.nudge_horizon_days.into());
        let extra = settings.planner.extra_goals.iter().map(|g| g.as_str());
        let goals = rules.iter().filter_map(|r| r.goal.as_deref()).chain(extra);
        let goals = goals.map(str::to_owned).collect();
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                catalogue,
                rules,
                policy,
                text_rules,
                nudge_horizon,
                goals,
            }),
        }
    }

    pub fn rules(&self) -> &[CampaignRule] {
        &self.inner.rules
    }

    /// The planner's clock: the time that counts for planning.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn zone(&self) -> Tz {
        self.inner.policy.zone
    }

    pub fn catalogue(&self) -> &TemplateCatalogue {
        &self.inner.catalogue
    }

    /// The template check over every template, with the configured rules:
    /// what `homeward templates check` reports, for the templates page.
    pub fn template_report(&self) -> crate::templates::CheckReport {
        crate::templates::check(&self.inner.catalogue, &self.inner.text_rules)
    }

    /// The goals staff may record, in order.
    pub fn goals(&self) -> impl Iterator<Item = &str> {
        self.inner.goals.iter().map(String::as_str)
    }

    /// Re-plan one person's events, e.g. after an API change.
    pub async fn plan_person(&self, org: OrgId, person: PersonId) -> Result<PlanReport, PlanError> {
        let store = &self.inner.store;
        let person = store
            .person(org, person)
            .await?
            .ok_or(PlanError::NotFound("person"))?;
        let events = store.events(org, person.id).await?;
        let items: Vec<_> = events.into_iter().map(|e| (person.clone(), e)).collect();
        let report = self.plan(&items).await?;
        if items.is_empty() {
            // No events, but texts such as nudges may still need fitting.
            self.fit_numbers(std::slice::from_ref(&person.mobile))
                .await?;
        }
        Ok(report)
    }

    /// Plan these events: create, re-render, cancel, and fit each number's
    /// texts into sending hours and caps, written in one transaction.
    pub async fn plan(&self, items: &[(Person, Event)]) -> Result<PlanReport, PlanError> {
        if items.is_empty() {
            return Ok(PlanReport::default());
        }
        let draft = self.draft(items).await?;
        let now = draft.now;
        let (changes, report) = self.fitted(items, draft).await?;
        self.inner.store.apply_plan(&changes, now).await?;
        Ok(report)
    }

    /// Everything planning these events decides before it reads the other
    /// texts to their numbers: what to create, re-render and cancel.
    async fn draft(&self, items: &[(Person, Event)]) -> Result<Draft, PlanError> {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let ids: Vec<_> = items.iter().map(|(_, e)| e.id).collect();
        let stored = store.rule_messages_for_events(&ids).await?;
        let people: Vec<_> = items.iter().map(|(p, _)| p.id).collect();
        let mut goals: HashMap<PersonId, HashSet<String>> = HashMap::new();
        for (person, goal) in store.goals_reached(&people).await? {
            goals.entry(person).or_default().insert(goal);
        }
        let mut by_event: HashMap<_, Vec<&Message>> = HashMap::new();
        for m in &stored {
            if let MessageOrigin::Rule { event_id, .. } = &m.origin {
                by_event.entry(*event_id).or_default().push(m);
            }
        }
        let none = HashSet::new();
        let mut changes = PlanChanges::default();
        for (person, event) in items {
            let goals = goals.get(&person.id).unwrap_or(&none);
            let stored = by_event.get(&event.id).map_or(&[][..], Vec::as_slice);
            self.plan_event(person, event, goals, stored, now, &mut changes)?;
        }
        Ok(Draft {
            now,
            stored,
            changes,
        })
    }

    /// The draft's texts to opted-out numbers suppressed, and every text to
    /// the items' numbers fitted into sending hours and caps, with the
    /// texts to those numbers stored now.
    async fn fitted(
        &self,
        items: &[(Person, Event)],
        draft: Draft,
    ) -> Result<(PlanChanges, PlanReport), PlanError> {
        let store = &self.inner.store;
        let Draft {
            now,
            stored,
            mut changes,
        } = draft;
        let numbers: HashSet<&PhoneNumber> = items.iter().map(|(p, _)| &p.mobile).collect();
        let mobiles: Vec<PhoneNumber> = numbers.iter().map(|m| (*m).clone()).collect();
        let suppressed = store.suppressed_among(&mobiles).await?;
        for (message, state, reason) in &mut changes.create {
            if *state == MessageState::Pending && suppressed.contains(&message.mobile) {
                *state = MessageState::Suppressed;
                *reason = "the number has opted out (STOP)".into();
            }
        }
        let mut report = PlanReport {
            created: changes.create.len(),
            updated: changes.update.len(),
            cancelled: changes.cancel.len(),
            expired: changes
                .create
                .iter()
                .filter(|(_, s, _)| *s == MessageState::Expired)
                .count(),
        };
        let others = store
            .messages_to_numbers(&mobiles, fitting::cap_since(now))
            .await?;
        report.expired += fitting::fit_planned(
            &self.inner.policy,
            &mut changes,
            &stored,
            &others,
            &numbers,
            now,
        );
        Ok((changes, report))
    }

    fn plan_event(
        &self,
        person: &Person,
        event: &Event,
        goals: &HashSet<String>,
        stored: &[&Message],
        now: DateTime<Utc>,
        changes: &mut PlanChanges,
    ) -> Result<(), PlanError> {
        let rules = &self.inner.rules;
        let wanted = plan::wanted(rules, goals, event, self.zone());
        let diff = plan::diff(&wanted, stored, rules, goals, event);
        for w in diff.create {
            changes
                .create
                .push(self.new_rule_message(person, event, w, now)?);
        }
        for (w, id) in diff.keep {
            let current = stored
                .iter()
                .find(|m| m.id == id)
                .expect("kept messages are stored");
            let rendered = self.render(
                &w.rule.template,
                person,
                Some(&event.detail),
                &Variables::new(),
            )?;
            let changed = current.body.as_str() != rendered.text
                || current.language != rendered.language_used
                || current.mobile != person.mobile
                || current.expires_at != w.occasion.expires;
            if changed {
                changes.update.push(MessageUpdate {
                    id,
                    body: MessageBody::new(rendered.text),
                    language: rendered.language_used,
                    mobile: person.mobile.clone(),
                    due_at: w.occasion.due,
                    send_at: current.send_at,
                    expires_at: w.occasion.expires,
                });
            }
        }
        changes.cancel.extend(diff.cancel);
        Ok(())
    }

    fn new_rule_message(
        &self,
        person: &Person,
        event: &Event,
        w: &Wanted<'_>,
        now: DateTime<Utc>,
    ) -> Result<(NewMessage, MessageState, String), PlanError> {
        let rendered = self.render(
            &w.rule.template,
            person,
            Some(&event.detail),
            &Variables::new(),
        )?;
        let mut state = plan::initial_state(&w.occasion, now);
        let mut reason = match state {
            MessageState::Expired => ExpiryReason::TooLate.describe().to_owned(),
            _ => format!(
                "planned by rule {} for the {}",
                w.rule.id,
                event.detail.kind()
            ),
        };
        if let Some(words) = self.discloses(&rendered.text) {
            state = MessageState::Suppressed;
            reason = format!(
                "the text would say {words}, which could reveal too much to whoever reads the phone"
            );
        }
        let message = NewMessage {
            id: crate::domain::MessageId::new(),
            org_id: person.org_id,
            person_id: person.id,
            origin: MessageOrigin::Rule {
                rule_id: w.rule.id.clone(),
                event_id: event.id,
            },
            dedupe_key: w.key.clone(),
            template: w.rule.template.clone(),
            language: rendered.language_used,
            body: MessageBody::new(rendered.text),
            mobile: person.mobile.clone(),
            due_at: w.occasion.due,
            send_at: w.occasion.due,
            expires_at: w.occasion.expires,
            earliest: w.rule.earliest,
            priority: w.rule.priority,
            goal: w.rule.goal.clone(),
        };
        Ok((message, state, reason))
    }

    /// Render a template for a person; `extra` adds to (or overrides) the
    /// person's and event's values.
    pub fn render(
        &self,
        template: &TemplateName,
        person: &Person,
        event: Option<&EventDetail>,
        extra: &Variables,
    ) -> Result<RenderedText, TemplateError> {
        let mut vars = context::variables(person, event, self.zone());
        vars.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.inner
            .catalogue
            .render(template, &person.language, &vars)
    }

    /// Disclosing words in a rendered text (they can arrive through data,
    /// such as an appointment's place), quoted for a reason.
    fn discloses(&self, text: &str) -> Option<String> {
        let found = self.inner.text_rules.disclosing.find_all(text);
        (!found.is_empty()).then(|| {
            found
                .iter()
                .map(|m| format!("{:?}", m.phrase))
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// Place every waiting text to these numbers within sending hours, the
    /// daily cap and the minimum gap.
    pub async fn fit_numbers(&self, mobiles: &[PhoneNumber]) -> Result<PlanReport, PlanError> {
        let now = self.inner.clock.now();
        let messages = self
            .inner
            .store
            .messages_to_numbers(mobiles, fitting::cap_since(now))
            .await?;
        let slots: Vec<_> = messages.iter().map(fitting::Slot::stored).collect();
        let by_id: HashMap<_, _> = messages.iter().map(|m| (m.id, m)).collect();
        let mut changes = PlanChanges::default();
        for (id, placement) in fitting::moves(&self.inner.policy, &slots, now) {
            match placement {
                Placement::At(at) => changes.update.push(fitting::rescheduled(by_id[&id], at)),
                Placement::Expired(why) => changes.expire.push((id, why.describe().to_owned())),
            }
        }
        let report = PlanReport {
            expired: changes.expire.len(),
            ..Default::default()
        };
        self.inner.store.apply_plan(&changes, now).await?;
        Ok(report)
    }

    /// Only goals that a campaign rule or `planner.extra_goals` names may
    /// be recorded: a misspelt goal would stop nothing, silently.
    fn check_goal(&self, goal: &str) -> Result<(), PlanError> {
        if self.inner.goals.contains(goal) {
            return Ok(());
        }
        let known: Vec<&str> = self.goals().collect();
        let reason = if known.is_empty() {
            "is not a known goal, and none is configured: name goals with `goal` in the campaign rules or in planner.extra_goals".to_owned()
        } else {
            format!(
                "is not a known goal; the goals are: {} (from the campaign rules and planner.extra_goals)",
                known.join(", ")
            )
        };
        Err(PlanError::Refused {
            field: "goal",
            value: goal.to_owned(),
            reason,
        })
    }

    /// Record a goal a person reached; texts serving it are cancelled.
    pub async fn record_outcome(
        &self,
        org: OrgId,
        person: PersonId,
        goal: &str,
    ) -> Result<PlanReport, PlanError> {
        self.check_goal(goal)?;
        self.inner
            .store
            .person(org, person)
            .await?
            .ok_or(PlanError::NotFound("person"))?;
        self.inner
            .store
            .record_outcome(org, person, goal, self.inner.clock.now())
            .await?;
        self.plan_person(org, person).await
    }
}
