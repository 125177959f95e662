/* Tests of audio/import (and the chorusd import/catalog commands): real
 * audio made here (audio_fixtures), imported into a real store and SQLite
 * catalog, then decrypted, verified and decoded back. Bad inputs, an
 * interrupted import (kill -9) and what killed imports leave behind, a
 * full disk (a tiny tmpfs), the progress bar on a terminal, search and the
 * demo library; encodes stored as they are (import_encoded). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <math.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libavutil/log.h>

#include "audio/import.h"
#include "audio/transcode.h"
#include "audio_fixtures.h"
#include "library/catalog.h"
#include "base/content_crypto.h"
#include "base/fsutil.h"
#include "base/manifest.h"
#include "library/store.h"
#include "base/xmalloc.h"

#define VORBIS_FRAME 2048 /* the output may differ by less than this */
#define MAX_REPORTS  64

/* Every FILE_DONE report of a run. */
struct capture {
    size_t n;
    struct import_report reps[MAX_REPORTS];
    char paths[MAX_REPORTS][512];
    bool scanned;
};

static void capture_cb(const struct import_event *ev, void *ctx)
{
    struct capture *c = ctx;
    if (ev->kind == IMPORT_EV_SCANNED)
        c->scanned = true;
    if (ev->kind != IMPORT_EV_FILE_DONE || c->n == MAX_REPORTS)
        return;
    assert_true(c->scanned);
    assert_true(ev->index < ev->summary->found);
    c->reps[c->n] = *ev->report;
    snprintf(c->paths[c->n], sizeof(c->paths[0]), "%s", ev->path);
    c->reps[c->n].path = c->paths[c->n];
    c->n++;
}

/* The report of the file whose path ends with suffix. */
static const struct import_report *report_for(const struct capture *c, const char *suffix)
{
    for (size_t i = 0; i < c->n; i++) {
        size_t pl = strlen(c->reps[i].path), sl = strlen(suffix);
        if (pl >= sl && strcmp(c->reps[i].path + pl - sl, suffix) == 0)
            return &c->reps[i];
    }
    fail_msg("no report for %s", suffix);
    return NULL;
}

static struct importer *open_importer(const char *data, struct capture *cap)
{
    struct importer *imp = NULL;
    int ret = import_open(data, &imp);
    if (ret != 0)
        fail_msg("import_open %s: %s", data, import_strerror(ret));
    if (cap) {
        memset(cap, 0, sizeof(*cap));
        import_set_progress(imp, capture_cb, cap);
    }
    return imp;
}

static struct import_summary run_import(struct importer *imp, const char *dir)
{
    struct import_summary sum;
    const char *paths[] = {dir};
    assert_int_equal(import_run(imp, paths, 1, &sum), 0);
    assert_int_equal(sum.found, sum.imported + sum.skipped + sum.failed);
    return sum;
}

/* The whole stored file, decrypted (owned by the caller). */
static uint8_t *read_plain(struct store *st, const struct content_id *id, size_t *len)
{
    struct manifest *m = NULL;
    assert_int_equal(store_read_manifest(st, id, &m), 0);
    *len = (size_t)m->file_size;
    uint8_t *plain = xmalloc(*len);
    assert_int_equal(store_read_decrypted(st, id, 0, plain, *len), 0);
    manifest_free(m);
    return plain;
}

/* The stored file of a track: every chunk verifies, and it decrypts to
 * Ogg Vorbis of the expected length, channels and rate. */
static void check_stored_track(struct importer *imp, int64_t track_id, double seconds, int channels,
                               int rate)
{
    struct catalog_track t;
    assert_int_equal(catalog_get_track(import_catalog(imp), track_id, &t), 0);
    struct store *st = import_store(imp);
    assert_true(store_has(st, &t.file_id));
    assert_int_equal(store_verify(st, &t.file_id, NULL), 0);

    struct manifest *m = NULL;
    assert_int_equal(store_read_manifest(st, &t.file_id, &m), 0);
    struct content_id id;
    manifest_id(m, &id);
    assert_memory_equal(&id, &t.file_id, sizeof(id));
    uint8_t *chunk = xmalloc(STORE_CHUNK_SIZE);
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        size_t len;
        assert_int_equal(store_read_chunk_verified(st, &t.file_id, m, i, chunk, &len), 0);
        assert_true(manifest_verify_chunk(m, i, chunk, len));
    }
    free(chunk);
    manifest_free(m);

    size_t len;
    uint8_t *plain = read_plain(st, &t.file_id, &len);
    assert_memory_equal(plain, "OggS", 4); /* encrypted on disk, Ogg once decrypted */
    struct fixture_info info;
    assert_int_equal(fixture_decode_mem(plain, len, &info, NULL), 0);
    free(plain);
    assert_string_equal(info.codec, "vorbis");
    assert_int_equal(info.channels, channels);
    assert_int_equal(info.sample_rate, rate);
    if (fabs(info.duration - seconds) * rate > VORBIS_FRAME)
        fail_msg("track %lld: %.4f s decoded, source %.4f s", (long long)track_id, info.duration,
                 seconds);
    assert_true(llabs(t.duration_ms - llround(seconds * 1000)) <= 1000 * VORBIS_FRAME / rate);
    catalog_track_clear(&t);
}

/* Flips one byte of chunk index in the file's content on disk. */
static void flip_byte(const char *data, const struct content_id *id, uint32_t index)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    char *path = xasprintf("%s/files/%.2s/%s", data, hex, hex);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    off_t off = (off_t)index * STORE_CHUNK_SIZE + 100;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
    free(path);
}

static char *mkpath(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    assert_int_equal(fs_mkdir_p(p, 0755), 0);
    *slash = '/';
    return p;
}

/* n FLAC files of distinct chords (hz, hz + step, ...): src/dir/NN<tail>,
 * numbered from 01; their paths go to files (owned by the caller) unless
 * it is NULL. */
static void make_chords(const char *src, const char *dir, const char *tail, int n, double hz,
                        double step, double seconds, char **files)
{
    for (int i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof(name), "%s/%02d%s", dir, i + 1, tail);
        char *path = mkpath(src, name);
        struct fixture_pcm *pcm = fixture_generate(FIXTURE_CHORD, hz + step * i, seconds, 44100, 2);
        assert_int_equal(fixture_encode(path, FIXTURE_FLAC, pcm, NULL), 0);
        fixture_pcm_free(pcm);
        if (files)
            files[i] = path;
        else
            free(path);
    }
}

static void test_roundtrip(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-roundtrip");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    const struct fixture_tags ta = {
        .title = "Alpha", .artist = "Ann", .album = "First", .track = "1", .date = "1999"};
    const struct fixture_tags tb = {.title = "Bravo",
                                    .artist = "Bob",
                                    .album = "Second",
                                    .album_artist = "Bob & Co",
                                    .track = "2/9",
                                    .date = "2004"};
    const struct fixture_tags tc = {
        .title = "Charlie", .artist = "Cat", .album = "Third", .track = "7", .date = "2011-05-01"};
    char *a = mkpath(src, "a.wav"), *b = mkpath(src, "b.flac"), *c = mkpath(src, "c.mp3");
    fixture_write(a, FIXTURE_WAV, FIXTURE_NOISE, 2.5, 44100, 2, &ta);
    fixture_write(b, FIXTURE_FLAC, FIXTURE_CHORD, 1.5, 48000, 1, &tb);
    fixture_write(c, FIXTURE_MP3, FIXTURE_SINE, 2.0, 44100, 2, &tc);

    struct capture cap;
    struct importer *imp = open_importer(data, &cap);
    struct import_summary sum = run_import(imp, src);
    assert_int_equal(sum.found, 3);
    assert_int_equal(sum.imported, 3);
    assert_int_equal(sum.failed, 0);
    assert_true(fabs(sum.audio_seconds - 6.0) < 0.2);
    assert_true(sum.wall_seconds > 0);
    assert_int_equal(cap.n, 3);

    const char *names[] = {"a.wav", "b.flac", "c.mp3"};
    const char *paths[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        const struct import_report *r = report_for(&cap, names[i]);
        assert_int_equal(r->outcome, IMPORT_IMPORTED);
        struct fixture_info src_info;
        assert_int_equal(fixture_decode_file(paths[i], &src_info, NULL), 0);
        assert_true(fabs(r->seconds - src_info.duration) * src_info.sample_rate <= VORBIS_FRAME);
        check_stored_track(imp, r->track_id, src_info.duration, src_info.channels,
                           src_info.sample_rate);
    }

    /* Tags went into the catalog. */
    struct catalog_track t;
    assert_int_equal(
        catalog_get_track(import_catalog(imp), report_for(&cap, "b.flac")->track_id, &t), 0);
    assert_string_equal(t.title, "Bravo");
    assert_string_equal(t.artist, "Bob");
    assert_string_equal(t.album, "Second");
    assert_string_equal(t.album_artist, "Bob & Co");
    assert_int_equal(t.track_number, 2);
    assert_string_equal(t.date, "2004");
    assert_non_null(strstr(t.source_path, "b.flac"));
    catalog_track_clear(&t);

    /* One flipped byte in the stored content: that chunk fails, the file
     * fails verification, the other chunks still pass. */
    const struct import_report *ra = report_for(&cap, "a.wav");
    struct store *st = import_store(imp);
    struct manifest *m = NULL;
    assert_int_equal(store_read_manifest(st, &ra->file_id, &m), 0);
    assert_true(m->chunk_count >= 2);
    flip_byte(data, &ra->file_id, 1);
    uint8_t *chunk = xmalloc(STORE_CHUNK_SIZE);
    size_t len;
    assert_int_equal(store_read_chunk_verified(st, &ra->file_id, m, 1, chunk, &len),
                     STORE_ECORRUPT);
    assert_int_equal(store_read_chunk(st, &ra->file_id, 1, chunk, &len), 0);
    assert_false(manifest_verify_chunk(m, 1, chunk, len));
    assert_int_equal(store_read_chunk_verified(st, &ra->file_id, m, 0, chunk, &len), 0);
    uint32_t bad = 0;
    assert_int_equal(store_verify(st, &ra->file_id, &bad), STORE_ECORRUPT);
    assert_int_equal(bad, 1);
    free(chunk);
    manifest_free(m);

    import_free(imp);
    free(a);
    free(b);
    free(c);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

static void test_path_fallback(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-fallback");
    char *src = xasprintf("%s/Library", dir), *data = xasprintf("%s/data", dir);
    char *f1 = mkpath(src, "The Artist/Some Album/03 - First Song.flac");
    char *f2 = mkpath(src, "The Artist/Some Album/CD2/01_Second_Song.wav");
    char *f3 = mkpath(src, "Loose Album/whatever.mp3");
    char *f4 = mkpath(src, "stray.ogg");
    fixture_write(f1, FIXTURE_FLAC, FIXTURE_SINE, 0.5, 44100, 1, NULL);
    fixture_write(f2, FIXTURE_WAV, FIXTURE_SINE, 0.5, 44100, 1, NULL);
    const struct fixture_tags partial = {.title = "Real Title", .artist = "Real Artist"};
    fixture_write(f3, FIXTURE_MP3, FIXTURE_SINE, 0.5, 44100, 1, &partial);
    fixture_write(f4, FIXTURE_OGG, FIXTURE_SINE, 0.5, 44100, 1, NULL);

    struct capture cap;
    struct importer *imp = open_importer(data, &cap);
    struct import_summary sum = run_import(imp, src);
    assert_int_equal(sum.imported, 4);

    struct {
        const char *file, *title, *artist, *album, *album_artist;
        int track, disc;
    } want[] = {
        {"First Song.flac", "First Song", "The Artist", "Some Album", "The Artist", 3, 0},
        {"Second_Song.wav", "Second Song", "The Artist", "Some Album", "The Artist", 1, 2},
        {"whatever.mp3", "Real Title", "Real Artist", "Loose Album", "Real Artist", 0, 0},
        {"stray.ogg", "stray", "Unknown Artist", "Library", "Unknown Artist", 0, 0},
    };
    for (size_t i = 0; i < 4; i++) {
        struct catalog_track t;
        assert_int_equal(
            catalog_get_track(import_catalog(imp), report_for(&cap, want[i].file)->track_id, &t),
            0);
        assert_string_equal(t.title, want[i].title);
        assert_string_equal(t.artist, want[i].artist);
        assert_string_equal(t.album, want[i].album);
        assert_string_equal(t.album_artist, want[i].album_artist);
        assert_int_equal(t.track_number, want[i].track);
        assert_int_equal(t.disc_number, want[i].disc);
        catalog_track_clear(&t);
    }
    import_free(imp);
    free(f1);
    free(f2);
    free(f3);
    free(f4);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

struct verify_ctx {
    struct store *st;
    struct catalog *cat; /* when set: every file must be some track's */
    int files;
};

static int verify_one(const struct content_id *id, void *ctx)
{
    struct verify_ctx *v = ctx;
    v->files++;
    assert_int_equal(store_verify(v->st, id, NULL), 0);
    if (v->cat)
        assert_int_equal(catalog_find_file(v->cat, id, NULL), 0);
    return 0;
}

/* Files in the store; with every_referenced, each must be a track's. */
static int store_files(struct importer *imp, bool every_referenced)
{
    struct verify_ctx v = {.st = import_store(imp),
                           .cat = every_referenced ? import_catalog(imp) : NULL};
    assert_int_equal(store_list(import_store(imp), verify_one, &v), 0);
    return v.files;
}

static void test_idempotent(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-again");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    char *files[4];
    make_chords(src, "album", ".flac", 4, 200.0, 50.0, 0.5, files);
    /* A copy next to its original: with two jobs both are in flight at
     * once, yet only one is transcoded and stored. */
    size_t len;
    void *bytes = testutil_read_file(files[1], &len);
    char *twin = mkpath(src, "album/02-copy.flac");
    testutil_write_file(twin, bytes, len);
    free(bytes);
    struct capture cap;
    struct importer *imp = open_importer(data, &cap);
    import_set_jobs(imp, 2);
    struct import_summary sum = run_import(imp, src);
    assert_int_equal(sum.imported, 4);
    assert_int_equal(sum.skipped, 1);
    assert_int_equal(store_files(imp, true), 4);
    unlink(twin);
    free(twin);

    sum = run_import(imp, src);
    assert_int_equal(sum.imported, 0);
    assert_int_equal(sum.skipped, 4);
    assert_int_equal(sum.failed, 0);
    import_free(imp);

    /* A fresh process's view: reopen, touch one file (same bytes), copy
     * another under a new name: both are the same content, so skipped. */
    imp = open_importer(data, &cap);
    struct timespec times[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, files[0], times, 0), 0);
    bytes = testutil_read_file(files[1], &len);
    char *copy = mkpath(src, "elsewhere/copy.flac");
    testutil_write_file(copy, bytes, len);
    free(bytes);
    sum = run_import(imp, src);
    assert_int_equal(sum.found, 5);
    assert_int_equal(sum.imported, 0);
    assert_int_equal(sum.skipped, 5);

    /* New content under an old name is a new track. */
    fixture_write(files[2], FIXTURE_FLAC, FIXTURE_NOISE, 0.5, 44100, 2, NULL);
    sum = run_import(imp, src);
    assert_int_equal(sum.imported, 1);
    assert_int_equal(sum.skipped, 4);
    struct catalog_counts counts;
    assert_int_equal(catalog_counts(import_catalog(imp), &counts), 0);
    assert_int_equal(counts.tracks, 5);
    import_free(imp);
    for (int i = 0; i < 4; i++)
        free(files[i]);
    free(copy);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- interrupted import ---- */

static void child_progress(const struct import_event *ev, void *ctx)
{
    if (ev->kind == IMPORT_EV_FILE_DONE) {
        ssize_t n = write(*(int *)ctx, "x", 1);
        (void)n;
    }
}

static int64_t track_count(const char *data)
{
    struct importer *imp = open_importer(data, NULL);
    struct catalog_counts counts;
    assert_int_equal(catalog_counts(import_catalog(imp), &counts), 0);
    import_free(imp);
    return counts.tracks;
}

/* Every track of the catalog, by artist and album: its file verifies.
 * Returns the number of tracks. */
static int64_t verify_catalog(struct importer *imp)
{
    struct catalog *cat = import_catalog(imp);
    struct catalog_artist_list artists;
    assert_int_equal(catalog_list_artists(cat, &artists), 0);
    int64_t n = 0;
    for (size_t i = 0; i < artists.count; i++) {
        struct catalog_album_list albums;
        assert_int_equal(catalog_artist_albums(cat, artists.items[i].id, &albums), 0);
        for (size_t j = 0; j < albums.count; j++) {
            struct catalog_track_list tracks;
            assert_int_equal(catalog_album_tracks(cat, albums.items[j].id, &tracks), 0);
            for (size_t k = 0; k < tracks.count; k++, n++)
                assert_int_equal(store_verify(import_store(imp), &tracks.items[k].file_id, NULL),
                                 0);
            catalog_track_list_free(&tracks);
        }
        catalog_album_list_free(&albums);
    }
    catalog_artist_list_free(&artists);
    return n;
}

static void test_interrupted(void **state)
{
    (void)state;
    enum { N = 8 };
    char *dir = testutil_tempdir("import-kill");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    make_chords(src, "Band/Record", " Song.flac", N, 150.0, 40.0, 1.5, NULL);
    /* Kill -9 three times, each time one file further and at a different
     * moment inside the next file's import. */
    for (int round = 0; round < 3; round++) {
        int64_t before = track_count(data);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            struct importer *imp = NULL;
            if (import_open(data, &imp) != 0)
                _exit(3);
            import_set_progress(imp, child_progress, &fds[1]);
            const char *paths[] = {src};
            import_run(imp, paths, 1, NULL);
            import_free(imp);
            _exit(0);
        }
        close(fds[1]);
        char buf[N];
        int64_t need = before + 1, got = 0;
        while (got < need) {
            ssize_t n = read(fds[0], buf, (size_t)(need - got));
            if (n <= 0)
                break;
            got += n;
        }
        usleep((useconds_t)(2000 + round * 9000));
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(fds[0]);
        assert_true(track_count(data) >= before + 1);
    }
    /* The re-run finishes the job: each source exactly once, every stored
     * file sound and some track's (a kill between the store's commit and
     * the catalog leaves a file no track refers to: the re-run's open
     * removed it), and no leftover of the kills. */
    struct importer *imp = open_importer(data, NULL);
    struct import_summary sum = run_import(imp, src);
    assert_int_equal(sum.failed, 0);
    assert_int_equal(sum.imported + sum.skipped, N);
    assert_true(sum.skipped >= 3);
    assert_int_equal(verify_catalog(imp), N);
    unsigned removed = 1;
    assert_int_equal(store_sweep(import_store(imp), 0, &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(store_files(imp, true), N);
    sum = run_import(imp, src);
    assert_int_equal(sum.imported, 0);
    assert_int_equal(sum.skipped, N);
    import_free(imp);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- leftovers ---- */

/* A file stored by an import killed before its track was added (between
 * the store's commit and the catalog), made here by putting a file
 * straight into the store. */
static struct content_id put_orphan(struct store *st)
{
    uint8_t data[40000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 2654435761u >> 11);
    struct content_key key;
    assert_int_equal(content_key_generate(&key), 0);
    struct content_id id;
    assert_int_equal(store_put(st, data, sizeof(data), &key, &id), 0);
    return id;
}

struct race {
    struct importer *other;
    const char *first;
};

/* When the second file starts, the first is checked and in flight (two
 * jobs): another importer imports it meanwhile. */
static void import_first_meanwhile(const struct import_event *ev, void *ctx)
{
    struct race *r = ctx;
    if (ev->kind != IMPORT_EV_FILE_START || ev->index != 1)
        return;
    struct import_report rep;
    assert_int_equal(import_file(r->other, r->first, NULL, &rep), 0);
    assert_int_equal(rep.outcome, IMPORT_IMPORTED);
}

/* The store keeps no file that no track refers to: a killed import's
 * stored file goes at the next open (at once when no other importer is
 * alive; while one is, a young one may be its work in progress and
 * stays), and a file stored for a source that another import added
 * meanwhile goes at once. */
static void test_leftovers(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-leftovers");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    char *files[2];
    make_chords(src, "album", ".flac", 2, 300.0, 70.0, 0.5, files);

    struct importer *imp = open_importer(data, NULL);
    struct content_id orphan = put_orphan(import_store(imp));
    struct importer *other = open_importer(data, NULL);
    assert_true(store_has(import_store(other), &orphan));
    import_free(other);
    import_free(imp);
    imp = open_importer(data, NULL);
    assert_false(store_has(import_store(imp), &orphan));
    assert_int_equal(store_files(imp, false), 0);

    other = open_importer(data, NULL);
    struct race race = {other, files[0]};
    import_set_jobs(imp, 2);
    import_set_progress(imp, import_first_meanwhile, &race);
    struct import_summary sum = run_import(imp, src);
    assert_int_equal(sum.imported, 1);
    assert_int_equal(sum.skipped, 1);
    assert_int_equal(store_files(imp, true), 2);
    import_free(other);
    import_free(imp);
    for (int i = 0; i < 2; i++)
        free(files[i]);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- bad inputs ---- */

/* Root reads everything: drop the capabilities that let it, so a mode 000
 * file is really unreadable. Returns false when that is not possible. */
static bool drop_dac(struct __user_cap_data_struct saved[2])
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    if (syscall(SYS_capget, &h, saved) != 0)
        return false;
    struct __user_cap_data_struct d[2];
    memcpy(d, saved, sizeof(d));
    d[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    return syscall(SYS_capset, &h, d) == 0;
}

static void restore_caps(struct __user_cap_data_struct saved[2])
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    assert_int_equal(syscall(SYS_capset, &h, saved), 0);
}

/* Runs chorusd with args; stdout and stderr go to files. Exit status. */
static int run_chorusd(const char *prog, char *const argv[], const char *out, const char *err)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(99);
        execv(prog, argv);
        _exit(98);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static char *slurp(const char *path)
{
    size_t len;
    char *s = testutil_read_file(path, &len);
    s = xrealloc(s, len + 1);
    s[len] = '\0';
    return s;
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-bad");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    char *p;
    p = mkpath(src, "good.wav");
    fixture_write(p, FIXTURE_WAV, FIXTURE_CHORD, 1.0, 44100, 2, NULL);
    free(p);
    p = mkpath(src, "good2.flac");
    fixture_write(p, FIXTURE_FLAC, FIXTURE_SINE, 1.0, 44100, 1, NULL);
    free(p);
    p = mkpath(src, "cut.mp3");
    fixture_write(p, FIXTURE_MP3, FIXTURE_CHORD, 4.0, 44100, 2, NULL);
    size_t len;
    uint8_t *bytes = testutil_read_file(p, &len);
    testutil_write_file(p, bytes, len / 2);
    free(bytes);
    free(p);
    p = mkpath(src, "noise.flac");
    uint8_t junk[20000];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 2654435761u >> 13);
    testutil_write_file(p, junk, sizeof(junk));
    free(p);
    p = mkpath(src, "readme.mp3");
    testutil_write_file(p, "This is not music.\n", 19);
    free(p);
    p = mkpath(src, "notes.txt"); /* a companion file: ignored */
    testutil_write_file(p, "liner notes\n", 12);
    free(p);
    p = mkpath(src, ".hidden.wav"); /* hidden: ignored */
    fixture_write(p, FIXTURE_WAV, FIXTURE_SINE, 0.2, 44100, 1, NULL);
    free(p);
    p = mkpath(src, "pipe.flac");
    assert_int_equal(mkfifo(p, 0600), 0);
    free(p);
    p = mkpath(src, "gone.mp3");
    assert_int_equal(symlink("/nonexistent/chorus/file.mp3", p), 0);
    free(p);
    p = mkpath(src, "loop");
    assert_int_equal(symlink(".", p), 0); /* a link to a directory: not followed */
    free(p);
    char *locked = mkpath(src, "locked.wav");
    fixture_write(locked, FIXTURE_WAV, FIXTURE_SINE, 0.5, 44100, 1, NULL);
    assert_int_equal(chmod(locked, 0), 0);

    struct __user_cap_data_struct caps[2];
    bool dropped = drop_dac(caps);
    int fd = open(locked, O_RDONLY);
    bool unreadable = fd < 0;
    if (fd >= 0)
        close(fd);
    if (!unreadable)
        fprintf(stderr, "note: cannot make a file unreadable here; locked.wav is readable\n");

    struct capture cap;
    struct importer *imp = open_importer(data, &cap);
    struct import_summary sum = run_import(imp, src);
    if (dropped)
        restore_caps(caps);
    assert_int_equal(sum.found, 8);
    assert_int_equal(sum.ignored, 3);
    assert_int_equal(sum.imported, unreadable ? 2 : 3);
    assert_int_equal(sum.failed, unreadable ? 6 : 5);
    assert_int_equal(report_for(&cap, "good.wav")->outcome, IMPORT_IMPORTED);
    assert_int_equal(report_for(&cap, "good2.flac")->outcome, IMPORT_IMPORTED);
    struct {
        const char *file, *reason;
    } want[] = {
        {"cut.mp3", "truncated"},
        {"noise.flac", "not an audio file"},
        {"readme.mp3", "not an audio file"},
        {"pipe.flac", "not a regular file (a FIFO)"},
        {"gone.mp3", "No such file or directory"},
        {"locked.wav", "Permission denied"},
    };
    for (size_t i = 0; i < (unreadable ? 6u : 5u); i++) {
        const struct import_report *r = report_for(&cap, want[i].file);
        assert_int_equal(r->outcome, IMPORT_FAILED);
        assert_true(r->error < 0);
        if (!strstr(r->reason, want[i].reason))
            fail_msg("%s: reason '%s', want '%s'", want[i].file, r->reason, want[i].reason);
        assert_null(strchr(r->reason, '\n'));
    }
    assert_int_equal(verify_catalog(imp), unreadable ? 2 : 3);
    import_free(imp);

    /* The command: one line per failure naming the file, exit status 1. */
    char *prog = testutil_program("chorusd");
    char *out = xasprintf("%s/out.txt", dir), *err = xasprintf("%s/err.txt", dir);
    char *data2 = xasprintf("%s/data2", dir);
    char *argv[] = {prog, "import", "--data-dir", data2, src, NULL};
    /* The command runs with all of root's powers: locked.wav may be
     * readable to it. */
    fd = open(locked, O_RDONLY);
    const char *failed_line = fd >= 0 ? "failed 5" : "failed 6";
    if (fd >= 0)
        close(fd);
    assert_int_equal(run_chorusd(prog, argv, out, err), 1);
    char *errs = slurp(err), *outs = slurp(out);
    assert_non_null(strstr(errs, "cut.mp3: truncated"));
    assert_non_null(strstr(errs, "noise.flac: not an audio file"));
    assert_non_null(strstr(errs, "pipe.flac: not a regular file"));
    assert_non_null(strstr(outs, failed_line));
    free(errs);
    free(outs);
    free(out);
    free(err);
    free(data2);
    free(prog);
    chmod(locked, 0600);
    free(locked);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

static void test_missing_and_bad_paths(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-paths");
    char *data = xasprintf("%s/data", dir);
    struct capture cap;
    struct importer *imp = open_importer(data, &cap);
    char *missing = xasprintf("%s/no-such-dir", dir);
    char *file = xasprintf("%s/one.ogg", dir);
    fixture_write(file, FIXTURE_OGG, FIXTURE_SINE, 0.5, 22050, 1, NULL);
    const char *paths[] = {missing, file};
    struct import_summary sum;
    assert_int_equal(import_run(imp, paths, 2, &sum), 0);
    assert_int_equal(sum.found, 2);
    assert_int_equal(sum.imported, 1);
    assert_int_equal(sum.failed, 1);
    assert_non_null(strstr(report_for(&cap, "no-such-dir")->reason, "No such file"));
    /* import_file on its own, and the same file again. */
    struct import_report rep;
    assert_int_equal(import_file(imp, file, NULL, &rep), 0);
    assert_int_equal(rep.outcome, IMPORT_SKIPPED);
    assert_int_equal(import_file(imp, dir, NULL, &rep), -EISDIR);
    /* The data directory lies inside the walked one: it is not walked. */
    const char *all[] = {dir};
    assert_int_equal(import_run(imp, all, 1, &sum), 0);
    assert_int_equal(sum.found, 1);
    assert_int_equal(sum.skipped, 1);
    assert_int_equal(sum.ignored, 1);
    import_free(imp);

    /* A data directory that is a file cannot be opened. */
    struct importer *bad = NULL;
    int ret = import_open(file, &bad);
    assert_true(ret < 0);
    assert_null(bad);
    assert_non_null(import_strerror(ret));
    assert_string_equal(import_strerror(TRANSCODE_ECORRUPT),
                        transcode_strerror(TRANSCODE_ECORRUPT));
    assert_string_equal(import_strerror(CATALOG_EFULL), catalog_strerror(CATALOG_EFULL));
    assert_string_equal(import_strerror(-ENOSPC), store_strerror(-ENOSPC));
    assert_true(import_is_companion("Cover.JPG") && import_is_companion("rip.log"));
    assert_false(import_is_companion("song.flac") || import_is_companion(".jpg"));
    free(missing);
    free(file);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

static void cancel_after_first(const struct import_event *ev, void *imp)
{
    if (ev->kind == IMPORT_EV_FILE_DONE)
        import_cancel(imp);
}

static void test_cancel(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-cancel");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%d.wav", i);
        char *p = mkpath(src, name);
        struct fixture_pcm *pcm = fixture_generate(FIXTURE_SINE, 300.0 + i, 0.3, 44100, 1);
        assert_int_equal(fixture_encode(p, FIXTURE_WAV, pcm, NULL), 0);
        fixture_pcm_free(pcm);
        free(p);
    }
    struct importer *imp = open_importer(data, NULL);
    import_set_jobs(imp, 1); /* with more, the files in flight finish too */
    /* Cancel from the progress callback after the first file. */
    import_set_progress(imp, cancel_after_first, imp);
    const char *paths[] = {src};
    struct import_summary sum;
    assert_int_equal(import_run(imp, paths, 1, &sum), IMPORT_ECANCELED);
    assert_true(sum.canceled);
    assert_int_equal(sum.imported, 1);
    import_set_progress(imp, NULL, NULL);
    assert_int_equal(import_run(imp, paths, 1, &sum), 0);
    assert_int_equal(sum.imported, 2);
    assert_int_equal(sum.skipped, 1);
    import_free(imp);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- full disk ---- */

/* The full disk: a 512 KiB testutil_small_fs, a tmpfs when the test may
 * mount one, else (and always in the second case) the simulated one;
 * teardown unmounts it even when the test fails. */
static int small_fs_setup(void **state)
{
    *state = testutil_small_fs_new("import-full", 512 << 10, false);
    return 0;
}

static int simulated_fs_setup(void **state)
{
    *state = testutil_small_fs_new("import-full-sim", 512 << 10, true);
    return 0;
}

static int small_fs_teardown(void **state)
{
    testutil_small_fs_free(*state);
    return 0;
}

static void test_full_disk(void **state)
{
    struct testutil_small_fs *fs = *state;
    const char *dir = fs->dir, *data = fs->mnt;
    char *src = xasprintf("%s/src", dir);
    /* Noise encodes big (~130 KB for 6 s): six of these do not fit. */
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d.wav", i);
        char *p = mkpath(src, name);
        struct fixture_pcm *pcm = fixture_generate(FIXTURE_NOISE, 1.0 + i, 6.0, 44100, 2);
        assert_int_equal(fixture_encode(p, FIXTURE_WAV, pcm, NULL), 0);
        fixture_pcm_free(pcm);
        free(p);
    }
    struct capture cap;
    struct importer *imp = open_importer(data, &cap);
    struct import_summary sum = run_import(imp, src);
    assert_true(sum.imported >= 1);
    assert_true(sum.failed >= 1);
    for (size_t i = 0; i < cap.n; i++) {
        const struct import_report *r = &cap.reps[i];
        if (r->outcome != IMPORT_FAILED)
            continue;
        if (!strstr(r->reason, "No space left on device") && !strstr(r->reason, "disk full"))
            fail_msg("%s: '%s' does not say the disk is full", r->path, r->reason);
    }
    /* Consistent: every catalogued track's file is whole; nothing half
     * written is visible; the store's files all verify. */
    assert_int_equal(verify_catalog(imp), (int64_t)sum.imported);
    assert_int_equal(store_files(imp, true), (int)sum.imported);
    import_free(imp);
    free(src);
}

/* ---- the command on a terminal ---- */

/* chorusd import with its stderr on a pseudo-terminal 60 columns wide:
 * a progress bar redrawn in place (carriage return, erase line) with
 * files done/total, the rate and the current file cut to fit, cleared at
 * the end; no per-file lines on stdout, the summary there as usual. */
static void test_progress_bar(void **state)
{
    (void)state;
    char *prog = testutil_program("chorusd");
    char *dir = testutil_tempdir("import-tty");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    char *out = xasprintf("%s/out.txt", dir);
    const char *long_name = "A Band With A Rather Long Name/An Album Title That Goes On And On/"
                            "01 A Song Whose Title Does Not Fit In Sixty Columns.flac";
    char *f1 = mkpath(src, long_name), *f2 = mkpath(src, "Other/Record/02 Short.flac");
    fixture_write(f1, FIXTURE_FLAC, FIXTURE_SINE, 0.5, 44100, 1, NULL);
    fixture_write(f2, FIXTURE_FLAC, FIXTURE_CHORD, 0.5, 44100, 1, NULL);

    int master, slave;
    struct winsize ws = {.ws_row = 24, .ws_col = 60};
    assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || dup2(o, 1) < 0 || dup2(slave, 2) < 0)
            _exit(99);
        execl(prog, prog, "import", "--data-dir", data, src, (char *)NULL);
        _exit(98);
    }
    close(slave);
    size_t cap = 1 << 16, len = 0;
    char *tty = xmalloc(cap + 1);
    ssize_t n;
    while (len < cap && (n = read(master, tty + len, cap - len)) > 0) /* EIO once it exits */
        len += (size_t)n;
    tty[len] = '\0';
    close(master);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_non_null(strstr(tty, "\r\033[K[##########----------] 1/2"));
    assert_non_null(strstr(tty, "\r\033[K[####################] 2/2"));
    assert_non_null(strstr(tty, " s/s "));
    assert_non_null(strstr(tty, "...")); /* the long name, cut from the left */
    assert_non_null(strstr(tty, "Short.flac"));
    /* Every redraw fits the 59 columns it may use (a wrap would scroll). */
    for (char *p = strstr(tty, "\r\033[K"); p; p = strstr(p + 1, "\r\033[K")) {
        char *end = strstr(p + 1, "\r\033[K");
        size_t shown = (end ? (size_t)(end - p) : strlen(p)) - 4;
        assert_true(shown <= 59);
    }
    /* Cleared at the end: the terminal is left on an empty line. */
    assert_true(len >= 4 && strcmp(tty + len - 4, "\r\033[K") == 0);
    char *o = slurp(out);
    assert_null(strstr(o, "imported /")); /* no per-file lines on a terminal */
    assert_non_null(strstr(o, "imported 2, skipped 0, failed 0"));
    free(o);
    free(tty);
    free(f1);
    free(f2);
    free(out);
    free(prog);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- search ---- */

static void test_search(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-search");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    const struct fixture_tags tags[] = {
        {.title = "Blue Monday", .artist = "New Order", .album = "Substance"},
        {.title = "Monday Morning", .artist = "Fleetwood Mac", .album = "Rumours Live"},
        {.title = "Friday I'm in Love", .artist = "The Cure", .album = "Wish"},
    };
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%d.flac", i);
        char *p = mkpath(src, name);
        struct fixture_pcm *pcm = fixture_generate(FIXTURE_SINE, 220.0 * (i + 1), 0.4, 44100, 1);
        assert_int_equal(fixture_encode(p, FIXTURE_FLAC, pcm, &tags[i]), 0);
        fixture_pcm_free(pcm);
        free(p);
    }
    struct importer *imp = open_importer(data, NULL);
    assert_int_equal(run_import(imp, src).imported, 3);
    struct catalog *cat = import_catalog(imp);
    struct catalog_track_list l;
    assert_int_equal(catalog_search(cat, "monday", 0, &l), 0);
    assert_int_equal(l.count, 2);
    catalog_track_list_free(&l);
    assert_int_equal(catalog_search(cat, "cure", 0, &l), 0); /* by artist */
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].title, "Friday I'm in Love");
    catalog_track_list_free(&l);
    assert_int_equal(catalog_search(cat, "rumo", 0, &l), 0); /* album, by prefix */
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].artist, "Fleetwood Mac");
    catalog_track_list_free(&l);
    assert_int_equal(catalog_search(cat, "blue order", 0, &l), 0); /* every word */
    assert_int_equal(l.count, 1);
    catalog_track_list_free(&l);
    import_free(imp);

    /* The catalog command lists it for scripts and finds it by search. */
    char *prog = testutil_program("chorusd");
    char *out = xasprintf("%s/out.txt", dir), *err = xasprintf("%s/err.txt", dir);
    char *tsv[] = {prog, "catalog", "--data-dir", data, "--tsv", NULL};
    assert_int_equal(run_chorusd(prog, tsv, out, err), 0);
    char *s = slurp(out);
    int lines = 0;
    for (char *q = s; *q; q++)
        lines += *q == '\n';
    assert_int_equal(lines, 4); /* a header and three tracks */
    assert_non_null(strstr(s, "New Order\tSubstance\t"));
    free(s);
    char *json[] = {prog, "catalog", "--data-dir", data, "--json", "search", "monday", NULL};
    assert_int_equal(run_chorusd(prog, json, out, err), 0);
    s = slurp(out);
    assert_non_null(strstr(s, "\"title\": \"Blue Monday\""));
    assert_non_null(strstr(s, "\"title\": \"Monday Morning\""));
    assert_null(strstr(s, "Friday"));
    free(s);
    char *human[] = {prog, "catalog", "--data-dir", data, NULL};
    assert_int_equal(run_chorusd(prog, human, out, err), 0);
    s = slurp(out);
    assert_non_null(strstr(s, "3 artists, 3 albums, 3 tracks"));
    assert_non_null(strstr(s, "Friday I'm in Love"));
    free(s);
    free(out);
    free(err);
    free(prog);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* Every track of a `chorusd catalog --json` document, in order. */
static void json_tracks(const json_t *doc, const json_t **out, size_t cap, size_t *n)
{
    size_t i, j, k;
    const json_t *ar, *al, *t;
    *n = 0;
    json_array_foreach(json_object_get(doc, "artists"), i, ar)
    {
        json_array_foreach(json_object_get(ar, "albums"), j, al)
        {
            json_array_foreach(json_object_get(al, "tracks"), k, t)
            {
                assert_true(*n < cap);
                out[(*n)++] = t;
            }
        }
    }
}

/* Runs `chorusd catalog --data-dir data --json [search query]` and parses
 * its output strictly (no NUL, no duplicate keys, nothing after it). */
static json_t *catalog_json(const char *dir, const char *data, const char *query)
{
    char *prog = testutil_program("chorusd");
    char *out = xasprintf("%s/out.json", dir), *err = xasprintf("%s/err.txt", dir);
    char *argv[] = {prog,          "catalog", "--data-dir",
                    (char *)data,  "--json",  query ? "search" : NULL,
                    (char *)query, NULL};
    assert_int_equal(run_chorusd(prog, argv, out, err), 0);
    size_t len;
    char *text = testutil_read_file(out, &len);
    json_error_t e;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!doc)
        fail_msg("catalog --json: invalid JSON at line %d: %s", e.line, e.text);
    assert_true(len > 0 && text[len - 1] == '\n');
    free(text);
    free(out);
    free(err);
    free(prog);
    return doc;
}

/* Titles with quotes, backslashes, control characters and invalid UTF-8
 * give valid JSON. Through an import the tags are cleaned (control
 * characters become spaces, invalid UTF-8 is read as Latin-1): the JSON
 * holds exactly what the catalog does. A catalog written otherwise (by
 * an older Chorus, or by hand) may hold anything: control characters are
 * kept (escaped) and invalid UTF-8 becomes U+FFFD. */
static void test_catalog_json_text(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-json-text");
    char *src = xasprintf("%s/src", dir), *data = xasprintf("%s/data", dir);
    const struct fixture_tags tags = {
        .title = "Say \"hi\"\n\\ caf\xe9 \x01", .artist = "The \"Quoted\"", .album = "A\tB\xff"};
    char *p = mkpath(src, "odd.flac");
    fixture_write(p, FIXTURE_FLAC, FIXTURE_SINE, 0.4, 44100, 1, &tags);
    free(p);
    struct importer *imp = open_importer(data, NULL);
    assert_int_equal(run_import(imp, src).imported, 1);
    struct catalog *cat = import_catalog(imp);
    struct catalog_track stored;
    assert_int_equal(catalog_get_track(cat, 1, &stored), 0);

    struct catalog_track_info raw = {
        .title = "raw \"q\"\n\x01\x1b[31m\\ \xc3( \xed\xa0\x80 end",
        .artist = "bad \xff\xfe artist",
        .album = "al\x7f\tbum \xc0\xaf",
        .date = "2001",
        .track_number = 3,
        .duration_ms = 1234,
    };
    memset(&raw.file_id, 0x5a, sizeof(raw.file_id));
    memset(raw.source_sha256, 0xa5, sizeof(raw.source_sha256));
    int64_t raw_id;
    assert_int_equal(catalog_add_track(cat, &raw, &raw_id, NULL), 0);
    import_free(imp);

#define FFFD "\xef\xbf\xbd"
    const char *raw_title = "raw \"q\"\n\x01\x1b[31m\\ " FFFD "( " FFFD FFFD FFFD " end";
    const char *raw_artist = "bad " FFFD FFFD " artist";
    const char *raw_album = "al\x7f\tbum " FFFD FFFD;
#undef FFFD

    json_t *doc = catalog_json(dir, data, NULL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "counts"), "tracks")),
                     2);
    const json_t *tracks[4];
    size_t n;
    json_tracks(doc, tracks, 4, &n);
    assert_int_equal(n, 2);
    bool seen_import = false, seen_raw = false;
    for (size_t i = 0; i < n; i++) {
        json_int_t id = json_integer_value(json_object_get(tracks[i], "id"));
        const char *title = json_string_value(json_object_get(tracks[i], "title"));
        const char *artist = json_string_value(json_object_get(tracks[i], "artist"));
        assert_non_null(title);
        assert_non_null(artist);
        if (id == stored.id) {
            assert_string_equal(title, stored.title);
            assert_string_equal(artist, stored.artist);
            assert_non_null(strstr(title, "Say \"hi\" \\ caf\xc3\xa9")); /* cleaned */
            seen_import = true;
        } else {
            assert_int_equal(id, raw_id);
            assert_string_equal(title, raw_title);
            assert_string_equal(artist, raw_artist);
            seen_raw = true;
        }
    }
    assert_true(seen_import && seen_raw);
    /* The albums' titles too. */
    size_t i;
    const json_t *ar;
    bool seen_album = false;
    json_array_foreach(json_object_get(doc, "artists"), i, ar)
    {
        const json_t *al = json_array_get(json_object_get(ar, "albums"), 0);
        const char *title = json_string_value(json_object_get(al, "title"));
        if (title && strcmp(title, raw_album) == 0)
            seen_album = true;
    }
    assert_true(seen_album);
    json_decref(doc);

    /* Search results carry album and album artist; the query is text too. */
    doc = catalog_json(dir, data, "raw");
    assert_string_equal(json_string_value(json_object_get(doc, "query")), "raw");
    const json_t *hits = json_object_get(doc, "tracks");
    assert_int_equal(json_array_size(hits), 1);
    const json_t *t = json_array_get(hits, 0);
    assert_string_equal(json_string_value(json_object_get(t, "title")), raw_title);
    assert_string_equal(json_string_value(json_object_get(t, "album")), raw_album);
    assert_string_equal(json_string_value(json_object_get(t, "album_artist")), raw_artist);
    assert_string_equal(json_string_value(json_object_get(t, "date")), "2001");
    json_decref(doc);
    doc = catalog_json(dir, data, "nothing\xff\"");
    assert_string_equal(json_string_value(json_object_get(doc, "query")), "nothing\xef\xbf\xbd\"");
    assert_int_equal(json_array_size(json_object_get(doc, "tracks")), 0);
    json_decref(doc);

    catalog_track_clear(&stored);
    free(src);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- demo library ---- */

static void test_demo_library(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-demo");
    char *data = xasprintf("%s/data", dir);
    struct capture cap;
    struct importer *imp = open_importer(data, &cap);
    const struct import_demo_options opt = {
        .tracks = 4, .min_seconds = 2.0, .max_seconds = 3.0, .seed = 7};
    struct import_summary sum;
    assert_int_equal(import_demo_library(imp, &opt, &sum), 0);
    assert_int_equal(sum.found, 4);
    assert_int_equal(sum.imported, 4);
    assert_true(sum.audio_seconds >= 8.0 && sum.audio_seconds <= 12.0);

    struct catalog *cat = import_catalog(imp);
    struct catalog_counts counts;
    assert_int_equal(catalog_counts(cat, &counts), 0);
    assert_int_equal(counts.tracks, 4);
    assert_true(counts.albums >= 2);
    assert_true(counts.artists >= 2);
    /* Every track has real tags and plays. */
    for (size_t i = 0; i < cap.n; i++) {
        const struct import_report *r = &cap.reps[i];
        assert_int_equal(r->outcome, IMPORT_IMPORTED);
        assert_non_null(strchr(r->path, '/')); /* "Artist/Album/NN Title" */
        struct catalog_track t;
        assert_int_equal(catalog_get_track(cat, r->track_id, &t), 0);
        assert_true(t.track_number >= 1);
        assert_non_null(t.date);
        assert_true(strlen(t.title) > 2 && strlen(t.artist) > 2 && strlen(t.album) > 2);
        assert_true(t.duration_ms >= 2000 - 50 && t.duration_ms <= 3000 + 50);
        double seconds = (double)t.duration_ms / 1000;
        catalog_track_clear(&t);
        check_stored_track(imp, r->track_id, seconds, 2, 44100);
    }
    /* The same seed again: the same library, all skipped. */
    assert_int_equal(import_demo_library(imp, &opt, &sum), 0);
    assert_int_equal(sum.imported, 0);
    assert_int_equal(sum.skipped, 4);
    const struct import_demo_options bad = {.tracks = 0, .min_seconds = 30, .max_seconds = 60};
    assert_int_equal(import_demo_library(imp, &bad, &sum), -EINVAL);
    import_free(imp);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

/* An encode stored twice under two fingerprints: two tracks, two files
 * with their own keys (so their own bytes and ids) that decrypt to the
 * same Ogg; the first fingerprint again keeps its track. */
static void test_encoded(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("import-encoded");
    char *data = xasprintf("%s/data", dir), *ogg_path = xasprintf("%s/piece.ogg", dir);
    fixture_write(ogg_path, FIXTURE_OGG, FIXTURE_CHORD, 2.0, 44100, 2, NULL);
    size_t ogg_len;
    uint8_t *ogg = testutil_read_file(ogg_path, &ogg_len);
    struct importer *imp = open_importer(data, NULL);

    struct catalog_track_info info = {
        .title = "Copy", .artist = "Encoder", .album = "Twice", .duration_ms = 2000};
    struct import_report rep[3];
    for (int i = 0; i < 3; i++) {
        memset(info.source_sha256, i == 2 ? 0 : i, sizeof(info.source_sha256));
        info.track_number = i + 1;
        assert_int_equal(import_encoded(imp, ogg, ogg_len, &info, &rep[i]), 0);
    }
    assert_int_equal(rep[0].outcome, IMPORT_IMPORTED);
    assert_int_equal(rep[1].outcome, IMPORT_IMPORTED);
    assert_true(rep[0].seconds == 2.0);
    assert_true(rep[0].track_id != rep[1].track_id);
    assert_memory_not_equal(&rep[0].file_id, &rep[1].file_id, sizeof(rep[0].file_id));
    for (int i = 0; i < 2; i++) {
        size_t len;
        uint8_t *plain = read_plain(import_store(imp), &rep[i].file_id, &len);
        assert_int_equal(len, ogg_len);
        assert_memory_equal(plain, ogg, len);
        free(plain);
        check_stored_track(imp, rep[i].track_id, 2.0, 2, 44100);
    }
    assert_int_equal(rep[2].outcome, IMPORT_SKIPPED);
    assert_int_equal(rep[2].track_id, rep[0].track_id);
    assert_memory_equal(&rep[2].file_id, &rep[0].file_id, sizeof(rep[0].file_id));

    memset(info.source_sha256, 9, sizeof(info.source_sha256));
    struct import_report empty;
    assert_int_equal(import_encoded(imp, ogg, 0, &info, &empty), STORE_EEMPTY);
    assert_int_equal(empty.outcome, IMPORT_FAILED);
    assert_true(empty.reason[0] != '\0');
    import_free(imp);
    free(ogg);
    free(ogg_path);
    free(data);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_path_fallback),
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_leftovers),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_missing_and_bad_paths),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test_setup_teardown(test_full_disk, small_fs_setup, small_fs_teardown),
        /* The same on the simulated disk, which is what runs where no
         * tmpfs can be mounted: it must keep working. */
        {"test_full_disk (simulated disk)", test_full_disk, simulated_fs_setup, small_fs_teardown,
         NULL},
        cmocka_unit_test(test_progress_bar),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_catalog_json_text),
        cmocka_unit_test(test_demo_library),
        cmocka_unit_test(test_encoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
