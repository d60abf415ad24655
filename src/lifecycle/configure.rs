//! A configuration change (docs/cases.md, Changing the configuration of a running desk) and
//! the cases a status deletion moves.

use crate::config::ConfigPatch;
use crate::error::{Error, ErrorCode};
use crate::event::{EventKind, StatusCause};

use super::{Change, Source, State, status_changed};

/// A `configure`: all its keys or none. Its `config_changed` comes first, then the
/// cases a deleted status moves, ascending.
pub(super) fn configure(state: &impl State, patch: &ConfigPatch) -> Result<Vec<Change>, Error> {
    let config = state.config();
    let next = patch.applied_to(config)?;
    let mut remaps = Vec::new();
    if let Some(delete) = &patch.delete_status {
        for id in state.open_holders(delete.id.as_str()) {
            let Some(target) = &delete.remap_to else {
                return Err(Error::new(
                    ErrorCode::StatusInUse,
                    format!(
                        "status `{}` is held by case {id}: name a remap_to status in its category",
                        delete.id
                    ),
                ));
            };
            let (Some(case), Some(to)) = (state.case(id), next.catalog.get(target)) else {
                continue;
            };
            remaps.push(Change::of(
                id,
                vec![status_changed(
                    case,
                    to,
                    StatusCause::StatusDeleted,
                    Source::Agent,
                )],
            ));
        }
    }
    let changes = config.changes_to(&next);
    if changes.is_empty() {
        return Ok(remaps);
    }
    remaps.insert(
        0,
        Change {
            case: None,
            kinds: vec![EventKind::ConfigChanged {
                changes: Box::new(changes),
            }],
        },
    );
    Ok(remaps)
}
