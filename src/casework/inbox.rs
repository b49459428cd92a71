//! The two-way inbox: what needs a person on staff, each item with the
//! conversation with that person (their texts and ours, in the order they
//! happened), so a worker can answer without opening the whole story.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Casework;
use crate::domain::{AttentionItem, Inbound, Message, OrgId, Person, PersonId, PhoneNumber};
use crate::store::{AttentionQuery, StoreError};

/// One line of a conversation.
#[derive(Debug, Clone)]
pub enum Said {
    /// A text the person sent.
    Them(Inbound),
    /// A text to the person (sent, or still to go).
    Us(Message),
}

impl Said {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Them(inbound) => inbound.received_at,
            Self::Us(message) => message.send_at,
        }
    }
}

/// An attention item with the person it is about and their conversation.
#[derive(Debug, Clone)]
pub struct InboxItem {
    pub item: AttentionItem,
    /// `None` once the person has been erased.
    pub person: Option<Person>,
    /// Oldest first, the most recent lines only.
    pub conversation: Vec<Said>,
    /// The person's number is on the opt-out list: no reply can go.
    pub opted_out: bool,
}

/// A person (if not erased), their last lines, and whether they opted out.
type Talk = (Option<Person>, Vec<Said>, bool);

/// Lines of conversation shown beside each item in the inbox.
pub const INBOX_LINES: usize = 4;
/// Lines shown on one item's own page.
pub const ITEM_LINES: usize = 30;
/// Items on one page of the inbox: each brings its conversation, so a page
/// is a few reads per person on it, however long the list.
pub const INBOX_PAGE: u32 = 25;

impl Casework {
    /// A page of open items, newest first, each with the last lines of its
    /// conversation, going on after item `after`; and the item to go on
    /// after for the next page, if there is one.
    pub async fn inbox(
        &self,
        org: OrgId,
        after: Option<String>,
    ) -> Result<(Vec<InboxItem>, Option<String>), StoreError> {
        let page = AttentionQuery {
            newest_first: true,
            after,
            // One more than a page: whether there are older items at all.
            ..AttentionQuery::open(INBOX_PAGE + 1)
        };
        let mut items = self.store.attention(org, &page).await?;
        let older = items.len() > INBOX_PAGE as usize;
        items.truncate(INBOX_PAGE as usize);
        let next = older.then(|| items.last().map(|i| i.id.clone())).flatten();
        let people: Vec<PersonId> = items.iter().map(|i| i.person_id).collect();
        let talks = self.talks(org, &people, INBOX_LINES).await?;
        let out = items
            .into_iter()
            .map(|item| {
                let (person, conversation, opted_out) =
                    talks.get(&item.person_id).cloned().unwrap_or_default();
                InboxItem {
                    item,
                    person,
                    conversation,
                    opted_out,
                }
            })
            .collect();
        Ok((out, next))
    }

    /// One item, open or resolved, with a longer conversation.
    pub async fn inbox_item(&self, org: OrgId, id: &str) -> Result<Option<InboxItem>, StoreError> {
        let Some(item) = self.store.attention_item(org, id).await? else {
            return Ok(None);
        };
        let mut talks = self.talks(org, &[item.person_id], ITEM_LINES).await?;
        let (person, conversation, opted_out) = talks.remove(&item.person_id).unwrap_or_default();
        Ok(Some(InboxItem {
            item,
            person,
            conversation,
            opted_out,
        }))
    }

    /// Each of these people (unless erased), the last `lines` of their
    /// conversation, oldest first, and whether they opted out: four reads
    /// for the lot.
    async fn talks(
        &self,
        org: OrgId,
        ids: &[PersonId],
        lines: usize,
    ) -> Result<HashMap<PersonId, Talk>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let people = self.store.people_by_ids(org, &ids).await?;
        let mobiles: Vec<PhoneNumber> = people.iter().map(|p| p.mobile.clone()).collect();
        let opted_out = self.store.suppressed_among(&mobiles).await?;
        let mut said: HashMap<PersonId, Vec<Said>> = HashMap::new();
        for (id, inbound) in self.store.inbound_for_people(org, &ids).await? {
            said.entry(id).or_default().push(Said::Them(inbound));
        }
        let last = u32::try_from(lines).unwrap_or(u32::MAX);
        for m in self.store.conversation_texts(org, &ids, last).await? {
            said.entry(m.person_id).or_default().push(Said::Us(m));
        }
        let mut talks = HashMap::with_capacity(people.len());
        for person in people {
            let mut talk: Vec<Said> = said.remove(&person.id).unwrap_or_default();
            talk.sort_by_key(Said::at);
            let skip = talk.len().saturating_sub(lines);
            let suppressed = opted_out.contains(&person.mobile);
            talks.insert(person.id, (Some(person), talk.split_off(skip), suppressed));
        }
        Ok(talks)
    }
}
