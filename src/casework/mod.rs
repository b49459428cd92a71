//! Use case: what staff read about their caseload, for the web pages. The
//! Today summary, finding a person, a person's whole story and one text's
//! history. Read-only: every change goes through the use cases the API uses.
//!
//! Finding people, with names and numbers sealed at rest: a reference is
//! stored in clear and found by the organisation's unique index; a mobile
//! number by its keyed hash (`people.mobile_hash`, indexed); a first name by
//! the keyed hash of its search key (`people.name_hash`, indexed; case and
//! accents ignored). No search opens a sealed value it does not show.

mod inbox;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::clock::Clock;
use crate::dispatch::{Dispatcher, ProviderStatus};
use crate::domain::{
    AttentionItem, Event, ExternalRef, FirstName, Inbound, Message, MessageId, MessageState,
    MobilePolicy, OrgId, Person, PersonId, Transition,
};
use crate::store::{AttentionQuery, MessageFilter, Page, SEARCH_LIMIT, Store, StoreError};
pub use inbox::{INBOX_LINES, INBOX_PAGE, ITEM_LINES, InboxItem, Said};

#[derive(Clone)]
pub struct Casework {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    dispatcher: Dispatcher,
    zone: Tz,
    mobiles: MobilePolicy,
}

/// The Today page.
#[derive(Debug)]
pub struct Today {
    pub today: NaiveDate,
    pub released_today: Vec<(Person, Event)>,
    pub released_tomorrow: Vec<(Person, Event)>,
    /// Texts due today (local time), by their state now.
    pub due_today: Vec<(MessageState, u64)>,
    /// Texts due in the last 7 days (today included), by their state now.
    pub last_week: Vec<(MessageState, u64)>,
    pub open_attention: u64,
    pub providers: Vec<ProviderStatus>,
    /// Texts due now and not yet sent, across every organisation.
    pub queue_depth: u64,
}

/// One person's whole story, newest first where it has an order.
#[derive(Debug)]
pub struct Story {
    pub person: Person,
    pub events: Vec<Event>,
    pub messages: Vec<Message>,
    pub replies: Vec<Inbound>,
    pub attention: Vec<AttentionItem>,
    pub goals: Vec<String>,
    pub opted_out_since: Option<DateTime<Utc>>,
    pub paused_since: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// Most texts a person's page lists.
const STORY_TEXTS: u32 = 500;

/// What a search found.
#[derive(Debug)]
pub struct Found {
    pub people: Vec<Person>,
    /// More people have the name than are shown.
    pub more: bool,
}

impl Casework {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        dispatcher: Dispatcher,
        zone: Tz,
        mobiles: MobilePolicy,
    ) -> Self {
        Self {
            store,
            clock,
            dispatcher,
            zone,
            mobiles,
        }
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    pub async fn today(&self, org: OrgId) -> Result<Today, StoreError> {
        let now = self.clock.now();
        let today = now.with_timezone(&self.zone).date_naive();
        let tomorrow = today.succ_opt().unwrap_or(today);
        let mut released = self.store.liberations_on(org, &[today, tomorrow]).await?;
        let released_tomorrow = released
            .split_off(released.partition_point(|(_, e)| liberation_date(e) == Some(today)));
        let (start, end) = (self.start_of(today), self.start_of(tomorrow));
        Ok(Today {
            today,
            released_today: released,
            released_tomorrow,
            due_today: self.store.due_by_state(org, start, end).await?,
            last_week: self
                .store
                .due_by_state(org, end - Duration::days(7), end)
                .await?,
            open_attention: self.store.open_attention_count(org).await?,
            providers: self.dispatcher.provider_states(),
            queue_depth: self.store.due_count(now).await?,
        })
    }

    /// The organisation's people, a page at a time in the order they were added.
    pub async fn people(
        &self,
        org: OrgId,
        page: Page<PersonId>,
    ) -> Result<Vec<Person>, StoreError> {
        self.store.people(org, page).await
    }

    /// People whose reference is `query`, or whose mobile it is (as typed,
    /// in any usual form), or whose first name it is: the first
    /// [`SEARCH_LIMIT`] of a common name by reference. An empty query
    /// finds no one.
    pub async fn search(&self, org: OrgId, query: &str) -> Result<Found, StoreError> {
        let query = query.trim();
        let mut people = Vec::new();
        if let Ok(reference) = ExternalRef::parse(query) {
            people.extend(self.store.person_by_ref(org, &reference).await?);
        }
        if let Ok(mobile) = self.mobiles.parse(query) {
            let same_number = self.store.people_by_mobile(&mobile).await?;
            people.extend(same_number.into_iter().filter(|p| p.org_id == org));
        }
        let mut more = false;
        if let Ok(name) = FirstName::parse(query) {
            let mut named = self.store.people_named(org, &name).await?;
            more = named.len() > SEARCH_LIMIT as usize;
            named.truncate(SEARCH_LIMIT as usize);
            people.extend(named);
        }
        let mut seen = std::collections::HashSet::new();
        people.retain(|p| seen.insert(p.id));
        Ok(Found { people, more })
    }

    pub async fn person(&self, org: OrgId, id: PersonId) -> Result<Option<Person>, StoreError> {
        self.store.person(org, id).await
    }

    pub async fn event(
        &self,
        org: OrgId,
        person: PersonId,
        id: crate::domain::EventId,
    ) -> Result<Option<Event>, StoreError> {
        self.store.event(org, person, id).await
    }

    pub async fn story(&self, org: OrgId, id: PersonId) -> Result<Option<Story>, StoreError> {
        let Some(person) = self.store.person(org, id).await? else {
            return Ok(None);
        };
        let filter = MessageFilter {
            person: Some(id),
            state: None,
            from: None,
            to: None,
            limit: STORY_TEXTS,
        };
        let mut messages = self.store.messages(org, &filter).await?;
        messages.sort_by_key(|m| std::cmp::Reverse(m.send_at));
        let mut events = self.store.events(org, id).await?;
        events.reverse();
        let mut replies = self.store.inbound_for_person(org, id).await?;
        replies.sort_by_key(|r| std::cmp::Reverse(r.received_at));
        let newest_first = AttentionQuery {
            newest_first: true,
            ..AttentionQuery::of_person(id)
        };
        let attention = self.store.attention(org, &newest_first).await?;
        let goals = self.store.goals_reached(&[id]).await?;
        let opted_out = self.store.suppression(&person.mobile).await?;
        Ok(Some(Story {
            events,
            messages,
            replies,
            attention,
            goals: goals.into_iter().map(|(_, goal)| goal).collect(),
            opted_out_since: opted_out.map(|s| s.since),
            paused_since: self.store.number_paused_since(id).await?,
            now: self.clock.now(),
            person,
        }))
    }

    /// One text with every change of its state, oldest first.
    pub async fn text(
        &self,
        org: OrgId,
        id: MessageId,
    ) -> Result<Option<(Message, Person, Vec<Transition>)>, StoreError> {
        let Some(message) = self.store.message(org, id).await? else {
            return Ok(None);
        };
        let Some(person) = self.store.person(org, message.person_id).await? else {
            return Ok(None);
        };
        let transitions = self.store.transitions(id).await?;
        Ok(Some((message, person, transitions)))
    }

    /// The organisation's people whose numbers are on the opt-out list.
    pub async fn opt_outs(
        &self,
        org: OrgId,
    ) -> Result<Vec<(Person, crate::domain::Suppression)>, StoreError> {
        let mut out = Vec::new();
        for suppression in self.store.suppressions(Some(org)).await? {
            for id in &suppression.people {
                if let Some(person) = self.store.person(org, *id).await? {
                    out.push((person, suppression.clone()));
                }
            }
        }
        out.sort_by_key(|(_, s)| std::cmp::Reverse(s.since));
        Ok(out)
    }

    fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        crate::planner::timing::local_instant(self.zone, day, chrono::NaiveTime::MIN)
    }
}

fn liberation_date(event: &Event) -> Option<NaiveDate> {
    match event.detail {
        crate::domain::EventDetail::Liberation { date, .. } => Some(date),
        crate::domain::EventDetail::Appointment { .. } => None,
    }
}
