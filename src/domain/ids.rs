//! Identifiers. Each kind of row has its own type so that a person id can
//! never be passed where an organisation id is expected.

macro_rules! id_type {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7), so that ids sort by creation.
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        $crate::domain::schema::describe!(
            $name,
            $crate::domain::schema::uuid(&$crate::domain::schema::paragraph(&[$($doc),*]))
        );

        impl ::std::str::FromStr for $name {
            type Err = ::uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                ::uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}
pub(crate) use id_type;

id_type!(
    /// An organisation: a prison, a throughcare team or a health board.
    OrgId
);
id_type!(
    /// A person who agreed to receive texts, as Homeward knows them.
    PersonId
);
id_type!(
    /// A liberation or an appointment.
    EventId
);
id_type!(
    /// An API token (not the secret itself).
    TokenId
);
id_type!(
    /// An entry in the audit trail.
    AuditId
);
id_type!(
    /// One CSV import, in the import journal.
    ImportRunId
);
id_type!(
    /// A staff member's account, for the web pages.
    UserId
);
