//! Parity across a set: the code rebuilds any K of K + N shards, the parity file survives a
//! lost header copy and names its bad sectors, and a member is reassembled byte for byte
//! from its covered sectors (its own parity area encoded again).

use std::io::Cursor;
use std::sync::Arc;

use discfs::parity::set::{
    Member, ParityFile, SetCode, SetError, SetHeader, covered_of_image, read_covered, reassemble,
    write_parity_file,
};
use discfs::{FileSource, NodeId, SECTOR, Timestamp, TreeBuilder, VolumeInfo};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use testkit::noise;

const S: usize = SECTOR as usize;

/// Folds every member (zero-padded to the longest) into N parity shards.
fn encode(code: &SetCode, members: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let len = members.iter().map(Vec::len).max().unwrap_or(0);
    let mut parity = vec![vec![0u8; len]; code.parity()];
    for (j, m) in members.iter().enumerate() {
        let mut padded = m.clone();
        padded.resize(len, 0);
        let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
        code.fold(j, &padded, &mut outs);
    }
    parity
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any K of the K + N shards give back every other one, whatever the members hold.
    #[test]
    fn any_k_of_k_plus_n_shards_rebuild_the_rest(
        k in 1usize..7,
        n in 1usize..4,
        seed in any::<u64>(),
        lens in prop::collection::vec(0usize..70, 7),
        lost_bits in any::<u16>(),
    ) {
        let code = SetCode::new(k, n).unwrap();
        let members: Vec<Vec<u8>> = (0..k).map(|j| noise(seed ^ j as u64, lens[j])).collect();
        let len = members.iter().map(Vec::len).max().unwrap();
        let parity = encode(&code, &members);
        let mut shards: Vec<Vec<u8>> = members.iter().map(|m| { let mut p = m.clone(); p.resize(len, 0); p }).collect();
        shards.extend(parity);
        // Lose at most N shards, chosen by the bits.
        let mut present = vec![true; k + n];
        let mut lost = 0;
        for (s, p) in present.iter_mut().enumerate() {
            if lost < n && lost_bits & (1 << s) != 0 {
                *p = false;
                lost += 1;
            }
        }
        let r = code.recovery(&present).unwrap();
        let sources: Vec<&[u8]> = r.sources.iter().map(|&s| shards[s].as_slice()).collect();
        let mut out = vec![vec![0xAAu8; len]; r.targets.len()];
        let mut outs: Vec<&mut [u8]> = out.iter_mut().map(Vec::as_mut_slice).collect();
        r.apply(&sources, &mut outs);
        for ((t, _), got) in r.targets.iter().zip(&out) {
            prop_assert_eq!(got, &shards[*t], "shard {}", t);
        }
    }
}

#[test]
fn more_losses_than_parity_shards_name_the_missing() {
    let code = SetCode::new(4, 2).unwrap();
    let e = code
        .recovery(&[true, false, true, false, true, false])
        .unwrap_err();
    match e {
        SetError::TooFewShards {
            missing,
            needed,
            present,
        } => {
            assert_eq!(missing, [1, 3, 5]);
            assert_eq!((needed, present), (4, 3));
        }
        other => panic!("{other:?}"),
    }
}

fn header(columns: u64) -> SetHeader {
    SetHeader {
        set_id: "0123456789abcdef0123456789abcdef".into(),
        group: 3,
        index: 1,
        parity: 2,
        columns,
        members: (0..3)
            .map(|j| Member {
                number: 7 + j,
                label: format!("ODA-TEST-{j:03}"),
                image_bytes: 1000 * S as u64,
                covered: 900 + u64::from(j),
                excluded_start: 800,
                excluded: 100 - u64::from(j),
                sha256: [j as u8; 32],
            })
            .collect(),
        created_ns: 1_700_000_000_123_456_789,
    }
}

#[test]
fn the_parity_file_round_trips_and_survives_a_lost_first_header() {
    let columns = 1_100;
    let h = header(columns);
    let shard = noise(9, columns as usize * S);
    let mut file = Vec::new();
    let n = write_parity_file(&h, &shard[..], &mut file).unwrap();
    assert_eq!(n, file.len() as u64);
    assert_eq!(file.len() as u64, h.file_bytes());
    assert_eq!(h.crc_sectors(), 3);

    // The first header and one CRC sector of the first table are lost; one data sector is
    // flipped.
    file[..S].fill(0);
    let crc0 = h.crc_start(0) as usize * S;
    file[crc0 + 5] ^= 1;
    let d = (h.data_start() as usize + 600) * S;
    file[d + 17] ^= 0x40;
    let len = file.len() as u64;
    let mut pf = ParityFile::open(Cursor::new(file), 0, len).unwrap();
    assert_eq!(pf.header, h);
    let mut buf = vec![0u8; 1_100 * S];
    let good = pf.read_columns(0, &mut buf);
    let bad: Vec<usize> = (0..good.len()).filter(|&i| !good[i]).collect();
    assert_eq!(bad, [600]);
    assert_eq!(&buf[..600 * S], &shard[..600 * S]);
}

#[test]
fn a_header_with_a_flipped_bit_is_refused() {
    let h = header(10);
    let mut b = h.to_bytes().unwrap();
    assert_eq!(SetHeader::parse(&b).unwrap(), h);
    // The parity discs' time stamp, at bytes 120–127 as documented.
    assert_eq!(b[120..128], 1_700_000_000_123_456_789i64.to_le_bytes());
    b[200] ^= 1;
    assert!(matches!(SetHeader::parse(&b), Err(SetError::Header(_))));
}

/// A small protected image (UDF + ISO 9660 with /Parity/PARITY.ODP at 10 %).
fn protected_image(seed: u64, size: usize) -> Vec<u8> {
    let t = Timestamp::new(1_767_225_600, 0);
    let mut b = TreeBuilder::new(t);
    let data = b.dir(NodeId::ROOT, "Data", t).unwrap();
    let bytes: Arc<[u8]> = Arc::from(noise(seed, size));
    b.file(data, "f.bin", t, size as u64, FileSource::Bytes(bytes))
        .unwrap();
    let parity = b.dir(NodeId::ROOT, "Parity", t).unwrap();
    b.parity_file(parity, "PARITY.ODP", t, 10).unwrap();
    let mut tree = b.build().unwrap();
    let layout = discfs::layout_with_parity(&mut tree, &VolumeInfo::default()).unwrap();
    let mut image = Vec::new();
    let mut spill = Cursor::new(Vec::new());
    discfs::write_protected_image(&tree, &layout, &mut image, &mut spill, &mut ()).unwrap();
    image
}

#[test]
fn a_member_is_reassembled_byte_for_byte_from_its_covered_sectors() {
    let image = protected_image(5, 700_000);
    let (covered, start, excluded) =
        covered_of_image(&mut Cursor::new(&image), image.len() as u64).unwrap();
    assert!(excluded > 0, "the parity area is left out");
    assert_eq!((covered + excluded) * SECTOR, image.len() as u64);
    let member = Member {
        number: 1,
        label: "ODA-TEST-001".into(),
        image_bytes: image.len() as u64,
        covered,
        excluded_start: start,
        excluded,
        sha256: Sha256::digest(&image).into(),
    };
    // The covered sectors, zero-padded by 3 sectors as a column of a longer member would be.
    let mut column = vec![0u8; (covered as usize + 3) * S];
    read_covered(&mut Cursor::new(&image), &member, 0, &mut column).unwrap();
    assert!(column[covered as usize * S..].iter().all(|&b| b == 0));
    let mut out = Vec::new();
    reassemble(
        &member,
        Cursor::new(&column),
        &mut out,
        Cursor::new(Vec::new()),
    )
    .unwrap();
    assert_eq!(out.len(), image.len());
    assert!(out == image, "reassembled image differs");

    // A wrong record is caught, not written as a wrong image.
    let wrong = Member {
        excluded: excluded + 1,
        ..member
    };
    let e = reassemble(
        &wrong,
        Cursor::new(&column),
        &mut Vec::new(),
        Cursor::new(Vec::new()),
    );
    assert!(matches!(e, Err(SetError::Member { .. })), "{e:?}");
}
