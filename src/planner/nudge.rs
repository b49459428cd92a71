//! One-off texts from staff ("nudges"): a template, or a message the worker
//! types, sent at a chosen time, with the same checks as planned texts and
//! then waiting for sending hours, the daily cap and the gap like them.
//! A preview shows the text exactly as it will be sent before it is kept.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::{PlanError, Planned, Planner};
use crate::domain::{
    MessageBody, MessageId, MessageOrigin, MessageState, NewMessage, OrgId, Person, PersonId,
    PlainText, TemplateName,
};
use crate::store::PlanChanges;
use crate::templates::{TemplateCatalogue, TypedCheck, TypedProblem, check_typed};

/// What a nudge says.
#[derive(Debug, Clone)]
pub enum NudgeText {
    /// A template, with values for its own variables (each checked like
    /// every value that reaches a text).
    Template {
        name: TemplateName,
        variables: BTreeMap<String, PlainText>,
    },
    /// A message the worker typed, checked like a template; `confirmed`
    /// accepts its warnings (several segments).
    Typed { body: MessageBody, confirmed: bool },
}

/// A one-off text from staff.
#[derive(Debug, Clone)]
pub struct NudgeRequest {
    pub person: PersonId,
    pub text: NudgeText,
    pub send_at: DateTime<Utc>,
    pub expires_after: Duration,
    pub priority: u8,
    /// The same key twice plans one text (a form's one-time token).
    pub key: Option<String>,
}

impl Planner {
    /// The nudge's text for `person`, checked, storing nothing.
    pub fn preview_nudge(
        &self,
        person: &Person,
        text: &NudgeText,
    ) -> Result<TypedCheck, PlanError> {
        match text {
            NudgeText::Typed { body, .. } => Ok(self.check_text(body.as_str(), person)),
            NudgeText::Template { name, variables } => {
                self.check_nudgeable(name)?;
                let values = variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
                    .collect();
                let rendered = self.render(name, person, None, &values)?;
                let mut preview = check_typed(&rendered.text, &self.inner.text_rules, None);
                // A template's length and links were checked when it was
                // written; what its values bring in is still checked here.
                preview
                    .refusals
                    .retain(|p| matches!(p, TypedProblem::Disclosing { .. }));
                preview.warnings.clear();
                Ok(preview)
            }
        }
    }

    /// Schedule a one-off text from staff, with the same checks as planned
    /// ones. A repeated key returns the text already planned for it.
    pub async fn nudge(&self, org: OrgId, request: NudgeRequest) -> Result<Planned, PlanError> {
        let now = self.inner.clock.now();
        let store = &self.inner.store;
        let person = store
            .person(org, request.person)
            .await?
            .ok_or(PlanError::NotFound("person"))?;
        let key = nudge_key(org, person.id, request.key.as_deref());
        if let Some(message) = store.message_by_key(org, &key).await? {
            let repeated = true;
            return Ok(Planned { message, repeated });
        }
        self.check_send_at(request.send_at, now)?;
        let preview = self.preview_nudge(&person, &request.text)?;
        let confirmed = matches!(
            request.text,
            NudgeText::Typed {
                confirmed: true,
                ..
            }
        );
        preview
            .problems(confirmed)
            .map_err(PlanError::TextRefused)?;
        let (template, language) = match &request.text {
            NudgeText::Template { name, .. } => {
                let used = self.inner.catalogue.resolve(name, &person.language);
                let language = used.map_or_else(|| person.language.clone(), |t| t.language.clone());
                (name.clone(), language)
            }
            NudgeText::Typed { .. } => (TemplateName::typed(), person.language.clone()),
        };
        let id = MessageId::new();
        let message = NewMessage {
            id,
            org_id: org,
            person_id: person.id,
            origin: MessageOrigin::Nudge,
            dedupe_key: key.clone(),
            template,
            language,
            body: preview.text,
            mobile: person.mobile.clone(),
            due_at: request.send_at,
            send_at: request.send_at,
            expires_at: request.send_at + request.expires_after,
            earliest: None,
            priority: request.priority,
            goal: None,
        };
        let reason = "a one-off nudge from staff".to_owned();
        let changes = PlanChanges {
            create: vec![(message, MessageState::Pending, reason)],
            ..Default::default()
        };
        store.apply_plan(&changes, now).await?;
        self.fit_numbers(std::slice::from_ref(&person.mobile))
            .await?;
        let message = store.message_by_key(org, &key).await?;
        let message = message.ok_or(PlanError::NotFound("message"))?;
        Ok(Planned {
            repeated: message.id != id,
            message,
        })
    }

    fn check_send_at(&self, send_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), PlanError> {
        if send_at < now - Duration::minutes(1) {
            return Err(PlanError::Invalid("send_at is in the past".into()));
        }
        if send_at > now + self.inner.nudge_horizon {
            let days = self.inner.nudge_horizon.num_days();
            return Err(PlanError::Invalid(format!(
                "send_at is more than {days} days ahead"
            )));
        }
        Ok(())
    }

    /// Staff may send any template but those Homeward sends itself.
    fn check_nudgeable(&self, template: &TemplateName) -> Result<(), PlanError> {
        if TemplateCatalogue::is_nudgeable(template) {
            return Ok(());
        }
        let allowed: Vec<&str> = self
            .inner
            .catalogue
            .nudgeable()
            .iter()
            .map(|t| t.as_str())
            .collect();
        Err(PlanError::Refused {
            field: "template",
            value: template.as_str().to_owned(),
            reason: format!(
                "is sent only by Homeward itself (in answer to STOP, START or HELP); a nudge may use: {}",
                allowed.join(", ")
            ),
        })
    }
}

/// A nudge's dedupe key: unique to the person and the caller's key.
fn nudge_key(org: OrgId, person: PersonId, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("nudge/{org}/{person}/{key}"),
        None => format!("nudge/{}", MessageId::new()),
    }
}
