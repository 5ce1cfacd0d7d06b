//! The extractor's tests: real layers unpacked as root (whiteouts, xattrs,
//! hard links across layers, hostile entries).

use super::*;

/// An empty numeric field is 0, as docker's Go tar reads it; a
/// malformed one stays an error.
#[test]
fn empty_numeric_tar_fields_are_zero() {
    let bad = || Err(io::Error::other("not a number"));
    assert_eq!(numeric(&[0; 8], bad()).unwrap(), 0);
    assert_eq!(numeric(b"        ", bad()).unwrap(), 0);
    assert_eq!(numeric(b"0001750\0", Ok(1000)).unwrap(), 1000);
    assert!(numeric(b"12x\0", bad()).is_err());
}
use crate::image::{digest, oci};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

fn entry(b: &mut tar::Builder<Vec<u8>>, kind: EntryType, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(if kind == EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_mtime(1_000_000);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(data.len() as u64);
    header.set_path(name).unwrap();
    header.set_cksum();
    b.append(&header, data).unwrap();
}

fn blob_of(dir: &Path, bytes: &[u8], diff_id: String, media_type: &str) -> (PathBuf, Layer) {
    let digest = digest::sha256(bytes);
    let blob = dir.join(digest::hex_of(&digest).unwrap());
    fs::write(&blob, bytes).unwrap();
    let layer = Layer {
        digest,
        diff_id,
        media_type: media_type.into(),
        size: bytes.len() as u64,
    };
    (blob, layer)
}

fn plain(dir: &Path, tar: &[u8]) -> (PathBuf, Layer) {
    blob_of(dir, tar, digest::sha256(tar), oci::MEDIA_TYPE_LAYER_TAR)
}

/// These tests write what only root may (overlay whiteouts, `trusted.*`
/// and `security.capability` xattrs): without root they fail, never
/// pass unchecked.
fn require_root(what: &str) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "este teste precisa de root ({what}): rode-o como root, como o `cargo xtask test` faz"
    );
}

/// A file with file capabilities (`setcap cap_net_raw+ep`) unpacks
/// without them; a setuid file keeps its bit (the state dir's 0700 is
/// what keeps local users away from it).
#[test]
fn image_extract_drops_file_capabilities_and_keeps_setuid() {
    require_root("gravar security.capability exige root");
    let tmp = tempfile::tempdir().unwrap();
    // vfs_cap_data v2, effective, permitted = CAP_NET_RAW (13).
    let mut cap = Vec::new();
    for word in [0x0200_0001u32, 1 << 13, 0, 0, 0] {
        cap.extend_from_slice(&word.to_le_bytes());
    }
    // A PAX record is "<len> <key>=<value>\n", len counting itself.
    let body_len = b" SCHILY.xattr.security.capability=".len() + cap.len() + 1;
    let mut len = body_len + 1;
    while (body_len + len.to_string().len()) != len {
        len = body_len + len.to_string().len();
    }
    let mut pax = format!("{len} SCHILY.xattr.security.capability=").into_bytes();
    pax.extend_from_slice(&cap);
    pax.push(b'\n');
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, EntryType::XHeader, "PaxHeaders/ping", &pax);
    entry(&mut b, EntryType::Regular, "ping", b"#!/bin/sh\n");
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o4755);
    header.set_mtime(1_000_000);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(1);
    header.set_path("su").unwrap();
    header.set_cksum();
    b.append(&header, &b"x"[..]).unwrap();
    let tar = b.into_inner().unwrap();

    let (blob, layer) = plain(tmp.path(), &tar);
    let dest = tmp.path().join("camada");
    unpack(&blob, &layer, &dest, Limits::default()).unwrap();
    assert!(dest.join("ping").is_file());
    let path = CString::new(dest.join("ping").as_os_str().as_bytes()).unwrap();
    let name = CString::new("security.capability").unwrap();
    // SAFETY: valid C strings; NULL buffer of size 0 asks for the size.
    let n = unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
    let err = io::Error::last_os_error().raw_os_error();
    assert_eq!(
        (n, err),
        (-1, Some(libc::ENODATA)),
        "security.capability sobreviveu"
    );
    let mode = fs::metadata(dest.join("su")).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o4755);
}

/// Two layers: the lower has files, the upper deletes one and makes a
/// directory opaque. Unpacked, they carry overlayfs's whiteouts; mounted
/// as a multi-lower overlay, they show the image's final filesystem.
#[test]
fn image_extract_whiteouts_become_overlay_whiteouts() {
    require_root("whiteouts do overlay exigem root");
    let tmp = tempfile::tempdir().unwrap();
    let mut lower = tar::Builder::new(Vec::new());
    entry(&mut lower, EntryType::Directory, "etc/", b"");
    entry(&mut lower, EntryType::Regular, "etc/motd", b"bem-vindo\n");
    entry(&mut lower, EntryType::Regular, "etc/hostname", b"casulo\n");
    entry(&mut lower, EntryType::Directory, "var/", b"");
    entry(&mut lower, EntryType::Directory, "var/cache/", b"");
    entry(&mut lower, EntryType::Regular, "var/cache/velho", b"x");
    entry(&mut lower, EntryType::Regular, "var/log", b"y");
    let lower = lower.into_inner().unwrap();
    let mut upper = tar::Builder::new(Vec::new());
    entry(&mut upper, EntryType::Regular, "etc/.wh.motd", b"");
    entry(&mut upper, EntryType::Directory, "var/", b"");
    entry(&mut upper, EntryType::Regular, "var/.wh..wh..opq", b"");
    entry(&mut upper, EntryType::Regular, "var/novo", b"z");
    entry(&mut upper, EntryType::Regular, ".wh..wh.plnk", b"");
    let upper = upper.into_inner().unwrap();

    let (blob, layer) = plain(tmp.path(), &lower);
    let l1 = tmp.path().join("l1");
    unpack(&blob, &layer, &l1, Limits::default()).unwrap();
    let (blob, layer) = plain(tmp.path(), &upper);
    let l2 = tmp.path().join("l2");
    let stats = unpack(&blob, &layer, &l2, Limits::default()).unwrap();
    assert_eq!(
        stats.whiteouts,
        [("/etc/motd".to_string(), false), ("/var".to_string(), true)]
    );
    let wh = fs::symlink_metadata(l2.join("etc/motd")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0, "overlayfs whiteout is device 0:0");
    let mut value = [0u8; 8];
    let path = CString::new(l2.join("var").as_os_str().as_bytes()).unwrap();
    let name = OPAQUE_XATTR.to_owned();
    // SAFETY: valid C strings and buffer.
    let n = unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), value.as_mut_ptr().cast(), 8) };
    assert_eq!(&value[..n as usize], b"y");
    assert!(!l2.join(".wh..wh.plnk").exists(), "aufs metadata ignored");

    // The real kernel agrees.
    let (up, work, merged) = (
        tmp.path().join("up"),
        tmp.path().join("work"),
        tmp.path().join("merged"),
    );
    for d in [&up, &work, &merged] {
        fs::create_dir(d).unwrap();
    }
    let data = format!(
        "lowerdir={}:{},upperdir={},workdir={}",
        l2.display(),
        l1.display(),
        up.display(),
        work.display()
    );
    nix::mount::mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(data.as_str()),
    )
    .unwrap();
    let seen = |p: &str| merged.join(p).exists();
    let result = (
        seen("etc/hostname"),
        seen("etc/motd"),
        seen("var/novo"),
        seen("var/cache"),
        seen("var/log"),
    );
    nix::mount::umount2(&merged, nix::mount::MntFlags::MNT_DETACH).unwrap();
    assert_eq!(result, (true, false, true, false, false));
}

#[test]
fn image_extract_refuses_bombs_and_absurd_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes: 1 << 20,
        max_entries: 10,
    };
    // 8 MiB of zeros gzip to a few KiB.
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, EntryType::Regular, "zeros", &vec![0u8; 8 << 20]);
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 64 << 10);
    let (blob, layer) = blob_of(
        tmp.path(),
        &gz,
        digest::sha256(&tar),
        oci::MEDIA_TYPE_LAYER_TAR_GZIP,
    );
    let dest = tmp.path().join("out");
    let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
    assert!(err.to_string().contains("zeros"), "{err}");
    assert!(!dest.exists());

    // A bomb made of padding after the end of the archive.
    let mut tar = tar::Builder::new(Vec::new()).into_inner().unwrap();
    tar.extend(std::iter::repeat_n(0u8, 4 << 20));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let gz = gz.finish().unwrap();
    let (blob, layer) = blob_of(
        tmp.path(),
        &gz,
        digest::sha256(&tar),
        oci::MEDIA_TYPE_LAYER_TAR_GZIP,
    );
    let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
    assert!(err.to_string().contains("bomba"), "{err}");
    assert!(!dest.exists());

    // A header that claims an absurd size (with no data behind it).
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_path("enorme").unwrap();
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(1 << 40);
    header.set_cksum();
    let mut raw = header.as_bytes().to_vec();
    raw.extend([0u8; 1024]);
    let (blob, layer) = plain(tmp.path(), &raw);
    let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
    assert!(
        matches!(&err, ImageError::UnsafeEntry { entry, .. } if entry == "enorme"),
        "{err}"
    );
    assert!(err.to_string().contains("absurdo"), "{err}");
    assert!(!dest.exists());

    // Too many entries.
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..20 {
        entry(&mut b, EntryType::Regular, &format!("f{i}"), b"");
    }
    let (blob, layer) = plain(tmp.path(), &b.into_inner().unwrap());
    let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
    assert!(err.to_string().contains("entradas"), "{err}");
    assert!(!dest.exists());
}

/// A GNU sparse entry (old GNU format): `data` stored at each offset
/// of `blocks`, holes elsewhere, `real_size` bytes in all.
pub(crate) fn sparse_entry(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    real_size: u64,
    blocks: &[u64],
    data: &[u8; 512],
) {
    assert!(blocks.len() < 4, "one header holds 4 map entries");
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::GNUSparse);
    header.set_path(name).unwrap();
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_000_000);
    header.set_size(512 * blocks.len() as u64);
    let gnu = header.as_gnu_mut().unwrap();
    for (slot, offset) in gnu.sparse.iter_mut().zip(blocks) {
        slot.set_offset(*offset);
        slot.set_length(512);
    }
    // The last map entry, empty, at the end: a trailing hole.
    gnu.sparse[blocks.len()].set_offset(real_size);
    gnu.sparse[blocks.len()].set_length(0);
    gnu.set_real_size(real_size);
    header.set_cksum();
    let stored: Vec<u8> = blocks.iter().flat_map(|_| data.iter().copied()).collect();
    b.append(&header, &stored[..]).unwrap();
}

/// Issue 13, item 5: the holes of a sparse entry never pass through the
/// stream limit, so its declared size must count, and it must be
/// written sparse (a few hundred bytes of tar wrote 11 GB before).
#[test]
fn image_extract_sparse_entries_count_their_size_and_stay_sparse() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes: 16 << 20,
        max_entries: 100,
    };
    let data = [b'd'; 512];
    let mut b = tar::Builder::new(Vec::new());
    sparse_entry(&mut b, "esparso", 12 << 20, &[0, 6 << 20], &data);
    let tar = b.into_inner().unwrap();
    assert!(tar.len() < 8 << 10, "{} bytes", tar.len());
    let (blob, layer) = plain(tmp.path(), &tar);
    let dest = tmp.path().join("um");
    unpack(&blob, &layer, &dest, limits).unwrap();
    let meta = fs::metadata(dest.join("esparso")).unwrap();
    assert_eq!(meta.len(), 12 << 20);
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "written densely: {} bytes on disk",
        meta.blocks() * 512
    );
    let content = fs::read(dest.join("esparso")).unwrap();
    assert_eq!(&content[..512], &data[..]);
    assert_eq!(&content[6 << 20..(6 << 20) + 512], &data[..]);
    assert!(content[512..6 << 20].iter().all(|b| *b == 0));

    // Two of them declare 24 MiB: past the 16 MiB limit, though each
    // is below it and the tar is a few KiB.
    let mut b = tar::Builder::new(Vec::new());
    sparse_entry(&mut b, "a", 12 << 20, &[0], &data);
    sparse_entry(&mut b, "b", 12 << 20, &[0], &data);
    let tar = b.into_inner().unwrap();
    let (blob, layer) = plain(tmp.path(), &tar);
    let dest = tmp.path().join("dois");
    let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
    assert!(
        matches!(&err, ImageError::UnsafeEntry { entry, .. } if entry == "b"),
        "{err}"
    );
    assert!(err.to_string().contains("esparso"), "{err}");
    assert!(!dest.exists());
    // The load-time check says the same, writing nothing.
    let err = verify::verify_layer(File::open(&blob).unwrap(), &layer, false, limits).unwrap_err();
    assert!(err.to_string().contains("esparso"), "{err}");
}

/// A PAX extended header body with these records.
fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        // "<len> <key>=<value>\n", len counting itself.
        let body = 1 + key.len() + 1 + value.len() + 1;
        let mut len = body + 1;
        while body + len.to_string().len() != len {
            len = body + len.to_string().len();
        }
        out.extend(format!("{len} {key}=").into_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

fn xattr_of(path: &Path, name: &str) -> Option<Vec<u8>> {
    let path = CString::new(path.as_os_str().as_bytes()).unwrap();
    let name = CString::new(name).unwrap();
    let mut value = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of value.len() bytes.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    (n >= 0).then(|| value[..n as usize].to_vec())
}

/// Issue 13, item 10: only allow-listed xattrs reach an unpacked layer;
/// overlayfs's own `trusted.overlay.*` never comes from a layer.
#[test]
fn image_extract_applies_only_allowed_xattrs() {
    require_root("gravar xattrs trusted.* exige root");
    let tmp = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let dir_pax = pax(&[
        ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
        ("SCHILY.xattr.user.nota", b"diretorio"),
    ]);
    entry(&mut b, EntryType::XHeader, "PaxHeaders/d", &dir_pax);
    entry(&mut b, EntryType::Directory, "d/", b"");
    let file_pax = pax(&[
        ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
        ("SCHILY.xattr.trusted.outra", b"x"),
        (
            "SCHILY.xattr.security.selinux",
            b"system_u:object_r:shadow_t:s0",
        ),
        ("SCHILY.xattr.user.nota", b"arquivo"),
        ("SCHILY.xattr.security.ima", b"assinatura"),
    ]);
    entry(&mut b, EntryType::XHeader, "PaxHeaders/d/f", &file_pax);
    entry(&mut b, EntryType::Regular, "d/f", b"conteudo");
    let (blob, layer) = plain(tmp.path(), &b.into_inner().unwrap());
    let dest = tmp.path().join("camada");
    unpack(&blob, &layer, &dest, Limits::default()).unwrap();
    let (d, f) = (dest.join("d"), dest.join("d/f"));
    assert_eq!(
        xattr_of(&d, OPAQUE_XATTR.to_str().unwrap()),
        None,
        "opaque came from the tar"
    );
    assert_eq!(xattr_of(&f, "trusted.overlay.redirect"), None);
    assert_eq!(xattr_of(&f, "trusted.outra"), None);
    assert_eq!(xattr_of(&f, "security.selinux"), None);
    assert_eq!(
        xattr_of(&d, "user.nota").as_deref(),
        Some(&b"diretorio"[..])
    );
    assert_eq!(xattr_of(&f, "user.nota").as_deref(), Some(&b"arquivo"[..]));
    assert_eq!(
        xattr_of(&f, "security.ima").as_deref(),
        Some(&b"assinatura"[..])
    );
    assert!(allowed_xattr(b"system.posix_acl_access"));
    assert!(!allowed_xattr(b"system.nfs4_acl"));
    assert!(!allowed_xattr(b"security.capability"));
    assert!(!allowed_xattr(b"security."));
}

/// A thousand files, a hard link across directories and UTF-8 names.
#[test]
fn image_extract_many_files() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..1000 {
        entry(
            &mut b,
            EntryType::Regular,
            &format!("d{}/ação-{i}.txt", i % 7),
            format!("{i}").as_bytes(),
        );
    }
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Link);
    header.set_path("outro/link").unwrap();
    header.set_link_name("d0/ação-0.txt").unwrap();
    header.set_size(0);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    b.append(&header, &[][..]).unwrap();
    let (blob, layer) = plain(tmp.path(), &b.into_inner().unwrap());
    let dest = tmp.path().join("out");
    let stats = unpack(&blob, &layer, &dest, Limits::default()).unwrap();
    assert_eq!((stats.files, stats.hardlinks), (1000, 1));
    assert_eq!(
        fs::read_to_string(dest.join("d5/ação-999.txt")).unwrap(),
        "999"
    );
    assert_eq!(fs::metadata(dest.join("outro/link")).unwrap().nlink(), 2);
}

fn link(b: &mut tar::Builder<Vec<u8>>, name: &str, target: &str) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Link);
    header.set_path(name).unwrap();
    header.set_link_name(target).unwrap();
    header.set_size(0);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    b.append(&header, &[][..]).unwrap();
}

/// A hard link to a file of a lower layer: refused when the layer is
/// unpacked alone, copied (content, mode, mtime) when unpacked above
/// its lowers; whiteouts, opaque dirs and symlinks on the way are
/// honoured, and nothing outside the layers can be reached.
#[test]
fn image_extract_hardlinks_to_a_lower_layer_are_copied_safely() {
    require_root("whiteouts do overlay exigem root");
    let tmp = tempfile::tempdir().unwrap();
    let unpack_tar = |name: &str, tar: Vec<u8>, lowers: &[PathBuf]| {
        let (blob, layer) = plain(tmp.path(), &tar);
        let dest = tmp.path().join(name);
        unpack_over(&blob, &layer, &dest, lowers, Limits::default(), &mut |_| {})
            .map(|stats| (dest, stats))
    };
    let mut b = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_path("bin/a").unwrap();
    header.set_size(4);
    header.set_mode(0o4755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_234_567);
    header.set_cksum();
    b.append(&header, &b"abc\n"[..]).unwrap();
    entry(&mut b, EntryType::Regular, "velho/x", b"x");
    entry(&mut b, EntryType::Regular, "opaco/y", b"y");
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Symlink);
    header.set_path("fuga").unwrap();
    header.set_link_name("/etc").unwrap();
    header.set_size(0);
    header.set_mode(0o777);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    b.append(&header, &[][..]).unwrap();
    let (l1, _) = unpack_tar("l1", b.into_inner().unwrap(), &[]).unwrap();

    // A middle layer deletes velho/x and hides opaco/.
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, EntryType::Regular, "velho/.wh.x", b"");
    entry(&mut b, EntryType::Directory, "opaco/", b"");
    entry(&mut b, EntryType::Regular, "opaco/.wh..wh..opq", b"");
    let (l2, _) = unpack_tar("l2", b.into_inner().unwrap(), std::slice::from_ref(&l1)).unwrap();

    let upper = |target: &str| {
        let mut b = tar::Builder::new(Vec::new());
        link(&mut b, "usr/b", target);
        b.into_inner().unwrap()
    };
    // Alone (no lowers), a link to nowhere is refused as always.
    let err = unpack_tar("alone", upper("bin/a"), &[]).unwrap_err();
    assert!(err.to_string().contains("não aparece antes"), "{err}");

    // Above its lowers: copied.
    let lowers = [l2.clone(), l1.clone()];
    let (l3, stats) = unpack_tar("l3", upper("bin/a"), &lowers).unwrap();
    assert_eq!(
        stats.lower_links,
        [("/usr/b".to_string(), "/bin/a".to_string())]
    );
    let meta = fs::symlink_metadata(l3.join("usr/b")).unwrap();
    assert_eq!(fs::read(l3.join("usr/b")).unwrap(), b"abc\n");
    assert_eq!(meta.mode() & 0o7777, 0o4755, "setuid kept");
    assert_eq!(meta.mtime(), 1_234_567);
    assert_eq!(
        meta.nlink(),
        1,
        "a copy: overlayfs cannot link across lowerdirs"
    );
    assert!(!l3.join("bin").exists(), "the target is not copied up");

    // Deleted by a whiteout, hidden by an opaque dir, missing, a
    // directory, through a symlink (to the host's /etc), with `..`.
    for (target, why) in [
        ("velho/x", "não aparece antes"),
        ("opaco/y", "não aparece antes"),
        ("nada", "não aparece antes"),
        ("velho", "diretório"),
        ("fuga/passwd", "link simbólico"),
        ("../l1/bin/a", ".."),
    ] {
        let err = unpack_tar("mau", upper(target), &lowers).unwrap_err();
        assert!(
            matches!(&err, ImageError::UnsafeEntry { entry, .. } if entry == "usr/b"),
            "{target}: {err}"
        );
        assert!(err.to_string().contains(why), "{target}: {err}");
        assert!(!tmp.path().join("mau").exists());
    }

    // Deleted by a whiteout of the same layer, before the link.
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, EntryType::Regular, "bin/.wh.a", b"");
    link(&mut b, "usr/b", "bin/a");
    let err = unpack_tar("mau", b.into_inner().unwrap(), &lowers).unwrap_err();
    assert!(err.to_string().contains("whiteout"), "{err}");
}
