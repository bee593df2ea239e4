/*
 * UEFI PI firmware volumes (PI spec vol. 3, "Firmware Storage"): build a
 * firmware volume holding FFS files, and parse one back with complete
 * validation. Implemented in firmware-model/fv.c; the layout, checksums
 * and hopsim's deviations are in docs/firmware-image.md.
 *
 * Assumptions:
 * - All structures are little-endian and read field by field (no packed
 *   structs), so the code does not depend on host layout.
 * - The builder writes FFS2 volumes with ERASE_POLARITY set (free space
 *   0xFF, State bits inverted), one block-map entry of 4 KiB blocks, no
 *   extended header. The parser also reads polarity 0 and FFS3 volumes.
 * - hopsim's runtime images are ELF files, not PE32: a file carries a
 *   USER_INTERFACE section (its name), an optional VERSION section and a
 *   RAW section (the ELF image), in that order. The "payload" of a file
 *   is its first RAW section (else its first PE32 or TE section); for an
 *   FFS file of type RAW it is the whole file data.
 * - A parsed volume points into the caller's buffer, which must outlive it.
 * - Offsets in struct fv_volume / fv_file are absolute: `base` (the
 *   buffer's offset in the enclosing image, e.g. the flash) plus the
 *   position in the buffer. Error messages use the same offsets.
 */
#ifndef HOPSIM_FV_H
#define HOPSIM_FV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An EFI_GUID as stored: Data1 (u32 LE), Data2 (u16 LE), Data3 (u16 LE), Data4[8]. */
struct fv_guid {
    uint8_t b[16];
};

#define FV_GUID_STR_LEN 36 /* without the NUL */

/* EFI_FIRMWARE_FILE_SYSTEM2_GUID 8c8ce578-8a3d-4f1c-9935-896185c32dd3 and the FFS3 one. */
extern const struct fv_guid fv_ffs2_guid;
extern const struct fv_guid fv_ffs3_guid;

/* EFI_FIRMWARE_VOLUME_HEADER */
#define FV_SIGNATURE 0x4856465fu /* "_FVH" */
#define FV_HEADER_FIXED 56u      /* header up to the block map */
#define FV_SIG_OFFSET 40u        /* Signature, within the header */
#define FV_REVISION 2u           /* EFI_FVH_REVISION */
#define FV_BLOCK_SIZE 4096u      /* block size the builder writes */
#define FV_MAX_BLOCKMAP 16       /* block-map entries the parser accepts */
#define FVB2_ERASE_POLARITY 0x800u
#define FV_DEFAULT_ATTRIBUTES 0x0004feffu /* as EDK2/OVMF: read/write/lock caps + status, */
                                          /* sticky write, memory mapped, erase polarity 1, */
                                          /* 16-byte alignment */

/* EFI_FFS_FILE_HEADER (24 bytes; EFI_FFS_FILE_HEADER2 with ExtendedSize: 32) */
#define FFS_HEADER_SIZE 24u
#define FFS_HEADER2_SIZE 32u
#define FFS_MAX_SIZE 0xffffffu /* Size[3] */
#define FFS_ALIGN 8u           /* files start 8-byte aligned */

#define FV_FILETYPE_RAW 0x01
#define FV_FILETYPE_FREEFORM 0x02
#define FV_FILETYPE_SECURITY_CORE 0x03
#define FV_FILETYPE_PEI_CORE 0x04
#define FV_FILETYPE_DXE_CORE 0x05
#define FV_FILETYPE_PEIM 0x06
#define FV_FILETYPE_DRIVER 0x07 /* also used for runtime drivers (hopsim-rt) */
#define FV_FILETYPE_APPLICATION 0x09
#define FV_FILETYPE_MM_CORE_STANDALONE 0x0f
#define FV_FILETYPE_OEM_MIN 0xc0
#define FV_FILETYPE_PAD 0xf0

#define FFS_ATTRIB_LARGE_FILE 0x01
#define FFS_ATTRIB_DATA_ALIGNMENT_2 0x02
#define FFS_ATTRIB_FIXED 0x04
#define FFS_ATTRIB_DATA_ALIGNMENT 0x38
#define FFS_ATTRIB_CHECKSUM 0x40
#define FFS_FIXED_CHECKSUM 0xaa

/* State bits, before inversion by the erase polarity. */
#define EFI_FILE_HEADER_CONSTRUCTION 0x01
#define EFI_FILE_HEADER_VALID 0x02
#define EFI_FILE_DATA_VALID 0x04
#define EFI_FILE_MARKED_FOR_UPDATE 0x08
#define EFI_FILE_DELETED 0x10
#define EFI_FILE_HEADER_INVALID 0x20

/* EFI_COMMON_SECTION_HEADER: Size[3] + Type (Size 0xffffff: + ExtendedSize u32) */
#define FV_SECTION_HEADER_SIZE 4u
#define FV_SECTION_COMPRESSION 0x01
#define FV_SECTION_GUID_DEFINED 0x02
#define FV_SECTION_DISPOSABLE 0x03
#define FV_SECTION_PE32 0x10
#define FV_SECTION_PIC 0x11
#define FV_SECTION_TE 0x12
#define FV_SECTION_DXE_DEPEX 0x13
#define FV_SECTION_VERSION 0x14
#define FV_SECTION_USER_INTERFACE 0x15
#define FV_SECTION_COMPATIBILITY16 0x16
#define FV_SECTION_FIRMWARE_VOLUME_IMAGE 0x17
#define FV_SECTION_FREEFORM_SUBTYPE_GUID 0x18
#define FV_SECTION_RAW 0x19
#define FV_SECTION_PEI_DEPEX 0x1b
#define FV_SECTION_MM_DEPEX 0x1c

#define FV_NAME_MAX 255 /* characters in a USER_INTERFACE or VERSION string */

/* One file to build. */
struct fv_file_spec {
    struct fv_guid guid; /* all zero: fv_guid_from_name(name) */
    const char *name;    /* USER_INTERFACE section; printable ASCII; NULL for type RAW */
    const char *version; /* VERSION section string, or NULL for none */
    uint16_t build_number;
    uint8_t type; /* FV_FILETYPE_*; RAW files hold the payload bare */
    const uint8_t *payload;
    size_t len;
};

/* One parsed file. */
struct fv_file {
    uint64_t offset; /* of the file header */
    uint32_t size;   /* whole file, header included */
    uint32_t header_size;
    struct fv_guid guid;
    uint8_t type, attributes;
    uint8_t state_raw;             /* as stored */
    uint8_t state;                 /* normalised (erase polarity removed) */
    bool deleted;                  /* EFI_FILE_DELETED: listed, never found */
    char name[FV_NAME_MAX + 1];    /* USER_INTERFACE, "" if none */
    char version[FV_NAME_MAX + 1]; /* VERSION string, "" if none */
    bool has_version;
    uint16_t build_number;
    bool has_payload;
    uint8_t payload_type;    /* section type, or 0 for a bare RAW file */
    uint64_t payload_offset; /* absolute, like offset */
    uint32_t payload_len;
    uint8_t sha256[32];    /* of the payload */
    bool data_checksummed; /* FFS_ATTRIB_CHECKSUM set (and verified) */
};

struct fv_block {
    uint32_t num, len;
};

struct fv_volume {
    const uint8_t *data; /* volume start in the caller's buffer */
    uint64_t offset;     /* absolute */
    uint64_t length;     /* FvLength */
    struct fv_guid fs_guid;
    int ffs;        /* 2 or 3; 0: unknown file system, files not parsed */
    bool header_ok; /* the header passed every check */
    uint32_t attributes;
    uint16_t header_length, checksum, ext_header_offset;
    uint8_t revision;
    uint8_t erase;          /* 0xff or 0x00 */
    struct fv_guid fv_name; /* from the extended header, if any */
    struct fv_block blockmap[FV_MAX_BLOCKMAP];
    int nblockmap;
    struct fv_file *files; /* in volume order; may hold the files parsed before an error */
    int nfiles, capfiles;
    uint64_t free_offset, free_length; /* erased space after the last file */
};

/* Volumes found in a region (fv_scan). */
struct fv_list {
    struct fv_volume *v;
    int n;
};

/* GUID text form (8-4-4-4-12, lower case). parse returns 0 or -1. */
void fv_guid_format(const struct fv_guid *g, char out[FV_GUID_STR_LEN + 1]);
int fv_guid_parse(const char *s, struct fv_guid *g);
bool fv_guid_is_zero(const struct fv_guid *g);
/* Deterministic file GUID for a name: SHA-256("hopsim-ffs:" name), version 8 (RFC 9562). */
int fv_guid_from_name(const char *name, struct fv_guid *g);

/* SHA-256 (Nettle). 0 ok (kept an int for its callers: it cannot fail). */
int fv_sha256(const void *data, size_t len, uint8_t out[32]);

/* Names: file types ("DRIVER", ...; "reserved" if undefined); sections ("RAW", ...; NULL). */
const char *fv_filetype_name(uint8_t type);
const char *fv_section_name(uint8_t type);

/* Size of one FFS file (header + sections) as fv_build lays it out; 0 if it cannot be built. */
size_t fv_file_size(const struct fv_file_spec *f);
/* Smallest volume holding these files, rounded up to FV_BLOCK_SIZE; 0 if impossible. */
size_t fv_min_size(const struct fv_file_spec *files, int n);

/*
 * Build a volume of exactly `size` bytes (a multiple of FV_BLOCK_SIZE) in
 * buf: header, files 8-byte aligned, free space 0xff. 0 ok; -1 with a
 * message in err (bad spec, files do not fit).
 */
int fv_build(uint8_t *buf, size_t size, const struct fv_file_spec *files, int n, char *err,
             size_t errlen);

/*
 * Parse and validate the volume at buf[0] (len bytes available; base is
 * buf's offset in the enclosing image). 0 ok; -1 with a message naming
 * the offset, the field, the expected and the found value. On failure fv
 * keeps what was verified before the error (header_ok, files). Always
 * call fv_fini afterwards.
 */
int fv_parse(struct fv_volume *fv, const uint8_t *buf, size_t len, uint64_t base, char *err,
             size_t errlen);
void fv_fini(struct fv_volume *fv);

/*
 * All volumes in a region: from its start, 4 KiB-aligned erased blocks
 * are skipped; anything else must be a valid volume, which is parsed and
 * stepped over. 0 ok; -1 with a message (l keeps the volumes so far, the
 * failing one last if its header was verified). Always fv_list_fini.
 */
int fv_scan(struct fv_list *l, const uint8_t *buf, size_t len, uint64_t base, char *err,
            size_t errlen);
void fv_list_fini(struct fv_list *l);

/* Lookups among valid (not deleted) files; NULL if none. */
const struct fv_file *fv_find_guid(const struct fv_volume *fv, const struct fv_guid *g);
const struct fv_file *fv_find_name(const struct fv_volume *fv, const char *name);
/* The payload bytes of a file of fv (NULL if it has none). */
const uint8_t *fv_file_payload(const struct fv_volume *fv, const struct fv_file *f);

/* Format a message into err (if given) and return -1: the firmware model's error return. */
int fw_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
