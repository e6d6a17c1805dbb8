//! The input of an image: a tree of directories and files, built once and then read by the
//! layout, the writer and the name mappers.
//!
//! The tree is compact on purpose (the planner builds trees of a million files to size a disc):
//! names live in one string arena, nodes are fixed-size records, and after [`TreeBuilder::build`]
//! every directory's children sit in one contiguous run of node ids, sorted by name. Node ids are
//! in breadth-first order with the root at 0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::TreeError;
use crate::time::Timestamp;

/// Index of a node in a [`Tree`] (or in the [`TreeBuilder`] that made it, before `build`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The root directory.
    pub const ROOT: NodeId = NodeId(0);

    /// The node's position in the tree's node table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a file's bytes come from when the image is written.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// Bytes held in memory; their length must equal the file's size.
    Bytes(Arc<[u8]>),
    /// `size` bytes (the node's size) of the file at `path`, from `offset` on. Used for whole
    /// files (`offset` 0) and for the parts of a file split across discs.
    Path {
        /// The file to read.
        path: PathBuf,
        /// Where the bytes start in it.
        offset: u64,
    },
    /// The image's parity area (see [`crate::parity`]): sized by
    /// [`crate::layout::layout_with_parity`], placed after every other file and computed by
    /// [`crate::writer::write_protected_image`] from the sectors before and after it.
    Parity {
        /// Parity shards per 100 data shards, 1..=100.
        percent: u8,
    },
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
}

#[derive(Debug, Clone)]
struct Node {
    parent: u32,
    name_start: u32,
    name_len: u16,
    kind: NodeKind,
    mtime: Timestamp,
    /// File: size in bytes. Directory: index of the first child (after build).
    a: u64,
    /// File: index into `sources`. Directory: number of children (after build).
    b: u32,
}

/// Builds a [`Tree`]. Nodes are added under a parent that was added before; names are checked
/// as they come, duplicates when the tree is built.
#[derive(Debug)]
pub struct TreeBuilder {
    nodes: Vec<Node>,
    names: String,
    sources: Vec<FileSource>,
    dirs: HashMap<(u32, Box<str>), u32>,
}

/// A finished, immutable tree of directories and files.
#[derive(Debug)]
pub struct Tree {
    nodes: Vec<Node>,
    names: String,
    sources: Vec<FileSource>,
    files: u64,
    dirs: u64,
}

impl TreeBuilder {
    /// A builder holding only the root directory, with the given mtime.
    pub fn new(root_mtime: Timestamp) -> Self {
        TreeBuilder {
            nodes: vec![Node {
                parent: 0,
                name_start: 0,
                name_len: 0,
                kind: NodeKind::Dir,
                mtime: root_mtime,
                a: 0,
                b: 0,
            }],
            names: String::new(),
            sources: Vec::new(),
            dirs: HashMap::new(),
        }
    }

    /// Adds a directory under `parent` and returns its id. Adding a directory that `parent`
    /// already has returns the existing one (its mtime is updated).
    pub fn dir(
        &mut self,
        parent: NodeId,
        name: &str,
        mtime: Timestamp,
    ) -> Result<NodeId, TreeError> {
        self.check_parent(parent)?;
        check_name(name)?;
        if let Some(&id) = self.dirs.get(&(parent.0, Box::from(name))) {
            self.nodes[id as usize].mtime = mtime;
            return Ok(NodeId(id));
        }
        let id = self.push(parent, name, NodeKind::Dir, mtime, 0, 0)?;
        self.dirs.insert((parent.0, Box::from(name)), id.0);
        Ok(id)
    }

    /// The directory named `name` directly under `parent`, if one was added.
    pub fn child_dir(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        self.dirs
            .get(&(parent.0, Box::from(name)))
            .map(|&id| NodeId(id))
    }

    /// Adds a file of `size` bytes under `parent`, its data to come from `source`.
    pub fn file(
        &mut self,
        parent: NodeId,
        name: &str,
        mtime: Timestamp,
        size: u64,
        source: FileSource,
    ) -> Result<NodeId, TreeError> {
        self.check_parent(parent)?;
        check_name(name)?;
        if let FileSource::Bytes(bytes) = &source {
            if bytes.len() as u64 != size {
                return Err(TreeError::SourceLength {
                    name: name.to_owned(),
                    size,
                    source_len: bytes.len() as u64,
                });
            }
        }
        let source_index =
            u32::try_from(self.sources.len()).map_err(|_| TreeError::TooManyNodes)?;
        self.sources.push(source);
        self.push(parent, name, NodeKind::File, mtime, size, source_index)
    }

    /// Adds the image's parity file under `parent` (size 0 until
    /// [`crate::layout::layout_with_parity`] sizes it). One per tree.
    pub fn parity_file(
        &mut self,
        parent: NodeId,
        name: &str,
        mtime: Timestamp,
        percent: u8,
    ) -> Result<NodeId, TreeError> {
        self.file(parent, name, mtime, 0, FileSource::Parity { percent })
    }

    fn check_parent(&self, parent: NodeId) -> Result<(), TreeError> {
        match self.nodes.get(parent.index()) {
            Some(node) if node.kind == NodeKind::Dir => Ok(()),
            _ => Err(TreeError::NotADirectory(parent.0)),
        }
    }

    fn push(
        &mut self,
        parent: NodeId,
        name: &str,
        kind: NodeKind,
        mtime: Timestamp,
        a: u64,
        b: u32,
    ) -> Result<NodeId, TreeError> {
        let id = u32::try_from(self.nodes.len()).map_err(|_| TreeError::TooManyNodes)?;
        let name_start = u32::try_from(self.names.len()).map_err(|_| TreeError::TooManyNodes)?;
        self.names.push_str(name);
        self.nodes.push(Node {
            parent: parent.0,
            name_start,
            name_len: name.len() as u16,
            kind,
            mtime,
            a,
            b,
        });
        Ok(NodeId(id))
    }

    /// Finishes the tree: renumbers nodes breadth-first with each directory's children
    /// contiguous and sorted by name (byte order of their UTF-8), and rejects two children of
    /// one directory with the same name.
    pub fn build(self) -> Result<Tree, TreeError> {
        let TreeBuilder {
            nodes,
            names,
            sources,
            dirs,
        } = self;
        drop(dirs);
        let n = nodes.len();
        let name_of = |i: usize| {
            let node = &nodes[i];
            &names[node.name_start as usize..node.name_start as usize + node.name_len as usize]
        };

        // Children of every node, grouped by parent with a counting sort (4 bytes a node).
        let mut starts = vec![0u32; n + 1];
        for node in nodes.iter().skip(1) {
            starts[node.parent as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut grouped = vec![0u32; n.saturating_sub(1)];
        for (i, node) in nodes.iter().enumerate().skip(1) {
            let slot = &mut fill[node.parent as usize];
            grouped[*slot as usize] = i as u32;
            *slot += 1;
        }
        drop(fill);

        // Breadth-first renumbering: `order[new] = old`.
        let mut order: Vec<u32> = Vec::with_capacity(n);
        let mut first_new = vec![0u32; n];
        order.push(0);
        let mut head = 0;
        while head < order.len() {
            let old = order[head] as usize;
            head += 1;
            let children = &mut grouped[starts[old] as usize..starts[old + 1] as usize];
            children.sort_unstable_by(|&x, &y| name_of(x as usize).cmp(name_of(y as usize)));
            for pair in children.windows(2) {
                if name_of(pair[0] as usize) == name_of(pair[1] as usize) {
                    return Err(TreeError::DuplicateName {
                        name: name_of(pair[0] as usize).to_owned(),
                    });
                }
            }
            first_new[old] = order.len() as u32;
            order.extend_from_slice(children);
        }
        drop(grouped);
        let mut new_of_old = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old as usize] = new as u32;
        }

        let mut out: Vec<Node> = Vec::with_capacity(n);
        let (mut files, mut dirs) = (0u64, 0u64);
        for &old in &order {
            let mut node = nodes[old as usize].clone();
            node.parent = new_of_old[node.parent as usize];
            if node.kind == NodeKind::Dir {
                dirs += 1;
                let (s, e) = (starts[old as usize], starts[old as usize + 1]);
                node.b = e - s;
                node.a = u64::from(first_new[old as usize]);
            } else {
                files += 1;
            }
            out.push(node);
        }
        Ok(Tree {
            nodes: out,
            names,
            sources,
            files,
            dirs,
        })
    }
}

fn check_name(name: &str) -> Result<(), TreeError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(TreeError::InvalidName(name.to_owned()));
    }
    if name.len() > usize::from(u16::MAX) {
        return Err(TreeError::InvalidName(
            name.chars().take(40).collect::<String>() + "…",
        ));
    }
    Ok(())
}

impl Tree {
    /// Number of nodes, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tree holds only its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    /// Number of regular files.
    pub fn file_count(&self) -> u64 {
        self.files
    }

    /// Number of directories, the root included.
    pub fn dir_count(&self) -> u64 {
        self.dirs
    }

    /// Every node id, breadth-first.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = NodeId> + use<> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// The node's name (empty for the root).
    pub fn name(&self, id: NodeId) -> &str {
        let node = &self.nodes[id.index()];
        &self.names[node.name_start as usize..node.name_start as usize + node.name_len as usize]
    }

    /// The node's parent (the root is its own parent).
    pub fn parent(&self, id: NodeId) -> NodeId {
        NodeId(self.nodes[id.index()].parent)
    }

    /// Directory or file.
    pub fn kind(&self, id: NodeId) -> NodeKind {
        self.nodes[id.index()].kind
    }

    /// Whether the node is a directory.
    pub fn is_dir(&self, id: NodeId) -> bool {
        self.kind(id) == NodeKind::Dir
    }

    /// Modification time.
    pub fn mtime(&self, id: NodeId) -> Timestamp {
        self.nodes[id.index()].mtime
    }

    /// A file's size in bytes; 0 for a directory.
    pub fn size(&self, id: NodeId) -> u64 {
        let node = &self.nodes[id.index()];
        if node.kind == NodeKind::File {
            node.a
        } else {
            0
        }
    }

    /// Files whose source is [`FileSource::Parity`], with their percent.
    pub fn parity_files(&self) -> impl Iterator<Item = (NodeId, u8)> + '_ {
        self.ids().filter_map(|id| match self.source(id) {
            Some(FileSource::Parity { percent }) => Some((id, *percent)),
            _ => None,
        })
    }

    /// Sets a file's size (the parity file's, as the layout sizes it).
    pub(crate) fn set_size(&mut self, id: NodeId, size: u64) {
        let node = &mut self.nodes[id.index()];
        if node.kind == NodeKind::File {
            node.a = size;
        }
    }

    /// A file's data source; `None` for a directory.
    pub fn source(&self, id: NodeId) -> Option<&FileSource> {
        let node = &self.nodes[id.index()];
        (node.kind == NodeKind::File).then(|| &self.sources[node.b as usize])
    }

    /// A directory's children, sorted by name; empty for a file.
    pub fn children(&self, id: NodeId) -> impl ExactSizeIterator<Item = NodeId> + Clone + use<> {
        let node = &self.nodes[id.index()];
        let (start, count) = match node.kind {
            NodeKind::Dir => (node.a as u32, node.b),
            NodeKind::File => (0, 0),
        };
        (start..start + count).map(NodeId)
    }

    /// Depth below the root: the root is 0, its children 1.
    pub fn depth(&self, mut id: NodeId) -> usize {
        let mut depth = 0;
        while id != NodeId::ROOT {
            id = self.parent(id);
            depth += 1;
        }
        depth
    }

    /// The node's path from the root, `/`-separated, without a leading slash.
    pub fn path(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut at = id;
        while at != NodeId::ROOT {
            parts.push(self.name(at));
            at = self.parent(at);
        }
        parts.reverse();
        parts.join("/")
    }

    /// Files in depth-first order (a directory's files, then its subdirectories' in name
    /// order): the order in which file data is laid out, so a folder's files sit together.
    pub fn files_depth_first(&self) -> impl Iterator<Item = NodeId> + '_ {
        let mut stack = vec![NodeId::ROOT];
        let mut pending: Vec<NodeId> = Vec::new();
        std::iter::from_fn(move || {
            loop {
                if let Some(f) = pending.pop() {
                    return Some(f);
                }
                let dir = stack.pop()?;
                let children = self.children(dir);
                let mut files: Vec<NodeId> = Vec::new();
                let mut subdirs: Vec<NodeId> = Vec::new();
                for child in children {
                    if self.is_dir(child) {
                        subdirs.push(child)
                    } else {
                        files.push(child)
                    }
                }
                files.reverse();
                pending = files;
                subdirs.reverse();
                stack.extend(subdirs);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> FileSource {
        FileSource::Bytes(Arc::from(s.as_bytes()))
    }

    fn sample() -> Tree {
        let t = Timestamp::new(1_000, 0);
        let mut b = TreeBuilder::new(t);
        let z = b.dir(NodeId::ROOT, "z", t).unwrap();
        let a = b.dir(NodeId::ROOT, "a", t).unwrap();
        b.file(z, "2.txt", t, 1, bytes("2")).unwrap();
        b.file(a, "x", t, 1, bytes("x")).unwrap();
        let deep = b.dir(a, "deep", t).unwrap();
        b.file(deep, "y", t, 2, bytes("yy")).unwrap();
        b.file(NodeId::ROOT, "top", t, 0, bytes("")).unwrap();
        b.file(z, "1.txt", t, 1, bytes("1")).unwrap();
        b.build().unwrap()
    }

    #[test]
    fn children_are_sorted_contiguous_and_breadth_first() {
        let tree = sample();
        let names: Vec<&str> = tree.children(NodeId::ROOT).map(|c| tree.name(c)).collect();
        assert_eq!(names, ["a", "top", "z"]);
        let z = tree.children(NodeId::ROOT).nth(2).unwrap();
        let names: Vec<String> = tree.children(z).map(|c| tree.path(c)).collect();
        assert_eq!(names, ["z/1.txt", "z/2.txt"]);
        for id in tree.ids().skip(1) {
            assert!(tree.parent(id) < id, "parents come before children");
            assert!(tree.children(tree.parent(id)).any(|c| c == id));
        }
        assert_eq!((tree.file_count(), tree.dir_count()), (5, 4));
    }

    #[test]
    fn depth_first_files_keep_folders_together() {
        let tree = sample();
        let paths: Vec<String> = tree.files_depth_first().map(|f| tree.path(f)).collect();
        assert_eq!(paths, ["top", "a/x", "a/deep/y", "z/1.txt", "z/2.txt"]);
    }

    #[test]
    fn bad_names_and_duplicates_are_refused() {
        let t = Timestamp::EPOCH;
        let mut b = TreeBuilder::new(t);
        for bad in ["", ".", "..", "a/b", "nul\0"] {
            assert!(matches!(
                b.dir(NodeId::ROOT, bad, t),
                Err(TreeError::InvalidName(_))
            ));
        }
        b.file(NodeId::ROOT, "same", t, 0, bytes("")).unwrap();
        b.file(NodeId::ROOT, "same", t, 0, bytes("")).unwrap();
        assert!(matches!(b.build(), Err(TreeError::DuplicateName { .. })));
    }

    #[test]
    fn a_directory_added_twice_is_one_directory() {
        let t = Timestamp::EPOCH;
        let mut b = TreeBuilder::new(t);
        let d1 = b.dir(NodeId::ROOT, "d", t).unwrap();
        let d2 = b.dir(NodeId::ROOT, "d", Timestamp::new(5, 0)).unwrap();
        assert_eq!(d1, d2);
        assert_eq!(b.child_dir(NodeId::ROOT, "d"), Some(d1));
        let tree = b.build().unwrap();
        assert_eq!(tree.len(), 2);
        assert_eq!(tree.mtime(NodeId(1)), Timestamp::new(5, 0));
    }

    #[test]
    fn byte_source_must_match_size() {
        let mut b = TreeBuilder::new(Timestamp::EPOCH);
        let err = b
            .file(NodeId::ROOT, "f", Timestamp::EPOCH, 3, bytes("ab"))
            .unwrap_err();
        assert!(matches!(
            err,
            TreeError::SourceLength {
                size: 3,
                source_len: 2,
                ..
            }
        ));
    }
}
