//! The case: its fields, their value types, and the input checks every field shares.
//!
//! A [`Case`] has getters and no setters: it changes only by folding events into it
//! (the desk's fold), and events come only from the desk's decisions.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::status::{Category, StatusId};
use crate::time::{Date, Instant};

/// A case id: an integer >= 1, unique in a desk and never reused.
pub type CaseId = u64;

/// Longest subject, in Unicode scalar values.
pub const MAX_SUBJECT_CHARS: usize = 150;
/// Longest user, agent or group id, in Unicode scalar values.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest tag.
pub const MAX_TAG_CHARS: usize = 64;
/// Most tags on one case.
pub const MAX_TAGS: usize = 100;
/// The largest version or `seq` a host may hand in (an import, a snapshot): 2^53 - 1, the
/// largest integer a JavaScript host reads exactly. Steps count on from there in `u64`.
pub const MAX_COUNTER: u64 = (1 << 53) - 1;
/// The largest `reopens` a host may hand in: one less than a `u32` holds, so that the
/// next reopen can count it; a case at `u32::MAX` reopens is not reopened again
/// (`limit_exceeded`).
pub const MAX_REOPENS: u32 = u32::MAX - 1;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            /// The lowercase wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }
    };
}

wire_enum!(
    /// What kind of request a case is.
    CaseType {
        /// A question rather than a problem.
        Question = "question",
        /// One occurrence of a larger issue; may link to a problem.
        Incident = "incident",
        /// An issue affecting many requesters; resolving it resolves its incidents.
        Problem = "problem",
        /// A task with a due date.
        Task = "task",
    }
);

wire_enum!(
    /// How urgent a case is: `low` < `normal` < `high` < `urgent`.
    Priority {
        /// Low.
        Low = "low",
        /// Normal.
        Normal = "normal",
        /// High.
        High = "high",
        /// Urgent.
        Urgent = "urgent",
    }
);

wire_enum!(
    /// Where a case came from.
    Channel {
        /// A phone call.
        Phone = "phone",
        /// An email.
        Email = "email",
        /// A voicemail.
        Voicemail = "voicemail",
        /// A chat.
        Chat = "chat",
        /// Twitter.
        Twitter = "twitter",
        /// Facebook.
        Facebook = "facebook",
        /// The API (the default).
        Api = "api",
        /// A web form.
        Web = "web",
    }
);

impl Default for Channel {
    /// `api`, the channel of a case created through the engine's API.
    fn default() -> Channel {
        Channel::Api
    }
}

/// A support case, as its JSON view (docs/cases.md) shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub(crate) id: CaseId,
    #[serde(rename = "type")]
    pub(crate) case_type: Option<CaseType>,
    pub(crate) subject: Option<String>,
    pub(crate) priority: Option<Priority>,
    pub(crate) status: StatusId,
    pub(crate) category: Category,
    pub(crate) closed: bool,
    pub(crate) requester: Name,
    pub(crate) submitter: Name,
    pub(crate) assignee: Option<Name>,
    pub(crate) group: Option<Name>,
    pub(crate) problem: Option<CaseId>,
    pub(crate) due_date: Option<Date>,
    pub(crate) due_at: Option<Instant>,
    pub(crate) tags: Tags,
    pub(crate) channel: Channel,
    pub(crate) follow_up_of: Option<CaseId>,
    pub(crate) reopens: u32,
    pub(crate) created_at: Instant,
    pub(crate) updated_at: Instant,
    pub(crate) status_changed_at: Instant,
    pub(crate) category_changed_at: Instant,
    pub(crate) assigned_at: Option<Instant>,
    pub(crate) resolved_at: Option<Instant>,
    pub(crate) replied_at: Option<Instant>,
    pub(crate) closed_at: Option<Instant>,
    pub(crate) overdue: bool,
    pub(crate) deleted: bool,
    pub(crate) version: u64,
}

impl Case {
    /// Makes this case a copy of `src`, reusing the subject's and the tags' memory (a
    /// script's `ticket` is refilled this way for each evaluation).
    pub(crate) fn copy_from(&mut self, src: &Case) {
        let Case {
            id,
            case_type,
            subject,
            priority,
            status,
            category,
            closed,
            requester,
            submitter,
            assignee,
            group,
            problem,
            due_date,
            due_at,
            tags,
            channel,
            follow_up_of,
            reopens,
            created_at,
            updated_at,
            status_changed_at,
            category_changed_at,
            assigned_at,
            resolved_at,
            replied_at,
            closed_at,
            overdue,
            deleted,
            version,
        } = self;
        *id = src.id;
        *case_type = src.case_type;
        subject.clone_from(&src.subject);
        *priority = src.priority;
        status.clone_from(&src.status);
        *category = src.category;
        *closed = src.closed;
        requester.clone_from(&src.requester);
        submitter.clone_from(&src.submitter);
        assignee.clone_from(&src.assignee);
        group.clone_from(&src.group);
        *problem = src.problem;
        *due_date = src.due_date;
        *due_at = src.due_at;
        tags.0.clone_from(&src.tags.0);
        *channel = src.channel;
        *follow_up_of = src.follow_up_of;
        *reopens = src.reopens;
        *created_at = src.created_at;
        *updated_at = src.updated_at;
        *status_changed_at = src.status_changed_at;
        *category_changed_at = src.category_changed_at;
        *assigned_at = src.assigned_at;
        *resolved_at = src.resolved_at;
        *replied_at = src.replied_at;
        *closed_at = src.closed_at;
        *overdue = src.overdue;
        *deleted = src.deleted;
        *version = src.version;
    }
}

macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $($(#[$doc])* pub fn $name(&self) -> $ty { self.$name })*
    };
}

/// A person's or a group's name on a case. Shared, not copied: a restore gives every case
/// of one agent or group the same text, and a requester who submitted the case shares
/// the submitter's.
pub(crate) type Name = Arc<str>;

macro_rules! str_getters {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $($(#[$doc])* pub fn $name(&self) -> Option<&str> { self.$name.as_deref() })*
    };
}

impl Case {
    getters! {
        /// The case id.
        id: CaseId;
        /// The type, if any.
        case_type: Option<CaseType>;
        /// The priority, if any.
        priority: Option<Priority>;
        /// The category of the status.
        category: Category;
        /// Whether the case is closed (terminal).
        closed: bool;
        /// The linked problem (incidents only).
        problem: Option<CaseId>;
        /// The task's due date.
        due_date: Option<Date>;
        /// 12:00 on the due date in the account's time zone.
        due_at: Option<Instant>;
        /// The channel the case came from.
        channel: Channel;
        /// The closed case this one follows up.
        follow_up_of: Option<CaseId>;
        /// How many times the case left `resolved`.
        reopens: u32;
        /// When the case was created.
        created_at: Instant;
        /// The instant of the last step that changed the case.
        updated_at: Instant;
        /// The last change of status.
        status_changed_at: Instant;
        /// The last change of category.
        category_changed_at: Instant;
        /// When the current assignee was set.
        assigned_at: Option<Instant>;
        /// When the case last entered `resolved`, while it is there.
        resolved_at: Option<Instant>;
        /// The requester's last reply.
        replied_at: Option<Instant>;
        /// When the case closed.
        closed_at: Option<Instant>;
        /// Whether the task passed its due instant unresolved.
        overdue: bool;
        /// Whether the case is in the trash.
        deleted: bool;
        /// 1 at creation, +1 per step that changes the case.
        version: u64;
    }

    str_getters! {
        /// The subject, if any.
        subject;
        /// The agent in charge, if any.
        assignee;
        /// The group, if any.
        group;
    }

    /// The status id.
    pub fn status(&self) -> &str {
        &self.status
    }

    /// Who asks for support.
    pub fn requester(&self) -> &str {
        &self.requester
    }

    /// Who created the case.
    pub fn submitter(&self) -> &str {
        &self.submitter
    }

    /// The tags, sorted.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags.iter()
    }

    /// The case's JSON view (docs/cases.md, The case).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A case created at `at` in `status`: version 1, every instant of its creation `at`
    /// (`resolved_at` too when the status is in `resolved`), every optional field absent.
    /// `create` and `follow_up` fill in the rest.
    pub(crate) fn new(
        id: CaseId,
        at: Instant,
        status: &crate::status::Status,
        submitter: Name,
        requester: Name,
    ) -> Case {
        Case {
            id,
            case_type: None,
            subject: None,
            priority: None,
            status: status.id.clone(),
            category: status.category,
            closed: false,
            requester,
            submitter,
            assignee: None,
            group: None,
            problem: None,
            due_date: None,
            due_at: None,
            tags: Tags::default(),
            channel: Channel::default(),
            follow_up_of: None,
            reopens: 0,
            created_at: at,
            updated_at: at,
            status_changed_at: at,
            category_changed_at: at,
            assigned_at: None,
            resolved_at: (status.category == Category::Resolved).then_some(at),
            replied_at: None,
            closed_at: None,
            overdue: false,
            deleted: false,
            version: 1,
        }
    }

    /// Derives `due_at` from `due_date` in `zone`; a closed case keeps the one it closed
    /// with (docs/lifecycle.md, Task due dates). The one place this rule lives.
    pub(crate) fn refresh_due_at(&mut self, zone: chrono_tz::Tz) {
        if !self.closed {
            self.due_at = self.due_date.map(|d| d.noon_in(zone));
        }
    }
}

/// Checks a user, agent or group id: 1 to 128 characters.
pub(crate) fn check_name(field: &str, value: &str) -> Result<(), Error> {
    let n = value.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(Error::input(format!(
            "{field} must be 1 to {MAX_NAME_CHARS} characters, not {n}"
        )));
    }
    Ok(())
}

/// Checks a subject: at most 150 characters.
pub(crate) fn check_subject(value: &str) -> Result<(), Error> {
    let n = value.chars().count();
    if n > MAX_SUBJECT_CHARS {
        return Err(Error::input(format!(
            "subject must be at most {MAX_SUBJECT_CHARS} characters, not {n}"
        )));
    }
    Ok(())
}

/// Checks how many tags a case would hold: at most [`MAX_TAGS`]. The one place this
/// limit is checked, for a creation, an update and an import alike.
pub(crate) fn check_tag_count(n: usize) -> Result<(), Error> {
    if n > MAX_TAGS {
        return Err(Error::input(format!(
            "tags: a case holds at most {MAX_TAGS} tags, not {n}"
        )));
    }
    Ok(())
}

/// Whether a tag is already normalized: 1-64 of `a-z 0-9 _ : . / -`.
pub(crate) fn is_tag(t: &str) -> bool {
    (1..=MAX_TAG_CHARS).contains(&t.len())
        && t.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b':' | b'.' | b'/' | b'-'))
}

/// Lowercases and checks a tag: 1-64 of `a-z 0-9 _ : . / -`.
pub(crate) fn normalize_tag(field: &str, tag: &str) -> Result<String, Error> {
    if is_tag(tag) {
        return Ok(tag.to_owned()); // most tags come normalized: no lowercasing
    }
    let t = tag.to_lowercase();
    if !is_tag(&t) {
        return Err(Error::input(format!(
            "{field}: tag `{}` must be 1 to {MAX_TAG_CHARS} of a-z 0-9 _ : . / -",
            crate::error::clip(tag)
        )));
    }
    Ok(t)
}

/// Checks and normalizes a list of tags.
pub(crate) fn normalize_tags(field: &str, tags: &[String]) -> Result<Tags, Error> {
    if tags.is_empty() {
        return Ok(Tags::default()); // most updates name no tags: no collect, no sort
    }
    tags.iter().map(|t| normalize_tag(field, t)).collect()
}

/// A case's tags: a set of tags kept sorted in one string, each followed by a line break.
/// One allocation for all of a case's tags, read in one pass: on a large desk each
/// allocation a case points to is a cache miss, and a tag test or change reads them all.
/// A tag is never empty and never holds a line break (`is_tag`; deserializing refuses
/// both), so the line breaks delimit it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Tags(String);

/// Whether `tag` can be kept in a `Tags`: not empty, no line break.
fn keepable(tag: &str) -> bool {
    !tag.is_empty() && !tag.contains('\n')
}

impl Tags {
    /// The byte range of each tag, its line break excluded, in order.
    fn spans(&self) -> impl Iterator<Item = (usize, &str)> {
        let mut at = 0;
        self.0.split_terminator('\n').map(move |t| {
            let start = at;
            at += t.len() + 1;
            (start, t)
        })
    }

    pub(crate) fn contains(&self, tag: &str) -> bool {
        keepable(tag) && self.iter().any(|t| t == tag)
    }

    /// Adds `tag` in its place. A string that cannot be a tag (empty, or with a line
    /// break; the lifecycle never decides one) is not added.
    pub(crate) fn insert(&mut self, tag: &str) {
        if !keepable(tag) {
            return;
        }
        let mut at = self.0.len();
        for (start, t) in self.spans() {
            match t.cmp(tag) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return,
                std::cmp::Ordering::Greater => {
                    at = start;
                    break;
                }
            }
        }
        self.0.reserve(tag.len() + 1);
        self.0.insert(at, '\n');
        self.0.insert_str(at, tag);
    }

    pub(crate) fn remove(&mut self, tag: &str) {
        let found = self
            .spans()
            .find(|(_, t)| *t == tag)
            .map(|(start, t)| start..start + t.len() + 1);
        if let Some(span) = found {
            self.0.replace_range(span, "");
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many: counted, so a caller that only needs to know whether there are any
    /// asks `is_empty`.
    pub(crate) fn len(&self) -> usize {
        self.0.bytes().filter(|b| *b == b'\n').count()
    }

    /// The tags, sorted.
    pub(crate) fn iter(&self) -> std::str::SplitTerminator<'_, char> {
        self.0.split_terminator('\n')
    }
}

impl FromIterator<String> for Tags {
    /// The set of these tags; a string that cannot be a tag is left out (see `insert`).
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Tags {
        let mut tags: Vec<String> = iter.into_iter().filter(|t| keepable(t)).collect();
        tags.sort_unstable();
        tags.dedup();
        let mut text = String::with_capacity(tags.iter().map(|t| t.len() + 1).sum());
        for t in &tags {
            text.push_str(t);
            text.push('\n');
        }
        Tags(text)
    }
}

impl Serialize for Tags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Tags, D::Error> {
        let tags = Vec::<String>::deserialize(d)?;
        match tags.iter().find(|t| !keepable(t)) {
            Some(t) => Err(serde::de::Error::custom(format!(
                "tag `{}` must be 1 to {MAX_TAG_CHARS} of a-z 0-9 _ : . / -",
                crate::error::clip(t)
            ))),
            None => Ok(tags.into_iter().collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tags;

    fn tags(list: &[&str]) -> Tags {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    /// A tag set stays sorted and without duplicates however it is built and changed, and
    /// reads back exactly the tags it holds.
    #[test]
    fn tags_stay_a_sorted_set() {
        let mut t = tags(&["vip", "billing", "vip", "a"]);
        assert_eq!(t.iter().collect::<Vec<_>>(), ["a", "billing", "vip"]);
        assert_eq!(t.len(), 3);
        for (tag, held) in [("a", true), ("vip", true), ("vi", false), ("vipx", false)] {
            assert_eq!(t.contains(tag), held, "{tag}");
        }
        t.insert("c");
        t.insert("zz");
        t.insert("0");
        t.insert("c");
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            ["0", "a", "billing", "c", "vip", "zz"]
        );
        t.remove("billing");
        t.remove("zz");
        t.remove("0");
        t.remove("nothing");
        assert_eq!(t.iter().collect::<Vec<_>>(), ["a", "c", "vip"]);
        assert_eq!(t, tags(&["c", "vip", "a"]));
        assert_eq!(Tags::default().len(), 0);
        assert_eq!(Tags::default().iter().count(), 0);
    }

    /// What cannot be a tag is never held: an empty string or one with a line break would
    /// break the set's text apart, so inserting one does nothing, `contains` says no and
    /// deserializing one is an error.
    #[test]
    fn a_tag_is_never_empty_nor_broken_across_lines() {
        let mut t = tags(&["a", "", "b\nc"]);
        assert_eq!(t.iter().collect::<Vec<_>>(), ["a"]);
        t.insert("");
        t.insert("x\ny");
        assert_eq!(t.iter().collect::<Vec<_>>(), ["a"]);
        assert!(!t.contains("") && !t.contains("a\n"));
        let json = serde_json::to_string(&tags(&["b", "a"])).unwrap();
        assert_eq!(json, r#"["a","b"]"#);
        assert_eq!(
            serde_json::from_str::<Tags>(&json).unwrap(),
            tags(&["a", "b"])
        );
        for bad in [r#"["a",""]"#, r#"["a\nb"]"#] {
            assert!(serde_json::from_str::<Tags>(bad).is_err(), "{bad}");
        }
    }
}
