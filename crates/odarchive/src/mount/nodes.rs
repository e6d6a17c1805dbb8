//! The nodes of the mounted tree and their numbers. A number says what the node is without a
//! table: the same entry under the same view always has the same number, for as long as the
//! catalogue holds it, and memory does not grow with the entries visited.
//!
//! - 1: the top (`latest/`, `snapshots/`), or, mounting one snapshot, that snapshot's root;
//! - 2: `snapshots/`;
//! - [`ALIAS`]` | id`: the symlink `snapshots/<date>` to `snapshots/<id>` (see
//!   [`super::snapshots`]);
//! - `view << 40 | id`: entry `id` (a catalogue row id; 0 for the drive root) seen through
//!   `view`: a snapshot id (`snapshots/<id>/`), or [`LATEST`] (`latest/`). Two views of one
//!   entry are two nodes, so no folder is ever its own ancestor to `find`.

/// The node number of the top of the mount.
pub const TOP: u64 = 1;
/// The node number of `snapshots/`.
pub const SNAPSHOTS: u64 = 2;
/// The view `latest/`.
pub const LATEST: u64 = (1 << 23) - 1;
/// The bit of a snapshot's date alias (below the views: a node of view 0).
pub const ALIAS: u64 = 1 << 39;
const ID_BITS: u32 = 40;
const ID_MASK: u64 = (1 << ID_BITS) - 1;

/// What a node number stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// The top of the mount, holding `latest/` and `snapshots/`.
    Top,
    /// `snapshots/`, holding one folder per complete snapshot.
    Snapshots,
    /// The symlink `snapshots/<date>` to snapshot `id`'s folder.
    Alias {
        /// The snapshot's id.
        id: i64,
    },
    /// An entry seen through a view (`id` 0: the view's root, the drive itself).
    Entry {
        /// A snapshot id, or [`LATEST`].
        view: u64,
        /// The entry's row id, 0 for the root.
        id: i64,
    },
}

impl Node {
    /// The node of `number`; `None` for a number no node has. `single` is the view mounted
    /// alone at the top (`--snapshot`), if one is.
    pub fn of(number: u64, single: Option<u64>) -> Option<Node> {
        match (number, single) {
            (TOP, Some(view)) => Some(Node::Entry { view, id: 0 }),
            (TOP, None) => Some(Node::Top),
            (SNAPSHOTS, None) => Some(Node::Snapshots),
            (n, None) if n >> ID_BITS == 0 && n & ALIAS != 0 => Some(Node::Alias {
                id: (n & !ALIAS) as i64,
            }),
            _ => {
                let view = number >> ID_BITS;
                let id = (number & ID_MASK) as i64;
                (view != 0 && single.is_none_or(|s| s == view)).then_some(Node::Entry { view, id })
            }
        }
    }

    /// This node's number (see [`Node::of`]).
    pub fn number(self, single: Option<u64>) -> u64 {
        match self {
            Node::Top => TOP,
            Node::Snapshots => SNAPSHOTS,
            Node::Alias { id } => ALIAS | (id as u64 & (ALIAS - 1)),
            Node::Entry { view, id: 0 } if single == Some(view) => TOP,
            Node::Entry { view, id } => (view << ID_BITS) | (id as u64 & ID_MASK),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_number_gives_back_its_node() {
        for single in [None, Some(7)] {
            let nodes = [
                Node::Entry { view: 7, id: 0 },
                Node::Entry { view: 7, id: 1 },
                Node::Entry {
                    view: 7,
                    id: (1 << 40) - 1,
                },
            ];
            for n in nodes {
                assert_eq!(Node::of(n.number(single), single), Some(n), "{n:?}");
            }
        }
        for n in [
            Node::Top,
            Node::Snapshots,
            Node::Alias { id: 1 },
            Node::Alias { id: 12345 },
            Node::Entry {
                view: LATEST,
                id: 5,
            },
            Node::Entry {
                view: LATEST,
                id: 0,
            },
        ] {
            assert_eq!(Node::of(n.number(None), None), Some(n), "{n:?}");
        }
        // Views of the same entry are different nodes.
        let a = Node::Entry { view: 3, id: 9 }.number(None);
        let b = Node::Entry {
            view: LATEST,
            id: 9,
        }
        .number(None);
        assert_ne!(a, b);
        // Mounting one snapshot, another's nodes do not exist.
        assert_eq!(Node::of(a, Some(4)), None);
        assert_eq!(Node::of(0, None), None);
        assert_eq!(
            Node::of(ALIAS | 3, Some(3)),
            None,
            "no aliases in a single view"
        );
    }
}
