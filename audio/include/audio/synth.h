/* synth: generated music for the demo library (chorusd demo-library,
 * chorus --demo) and for tests that need something more musical than a
 * sine.
 *
 * Each seed gives a different, listenable piece: a melody over a chord
 * progression with a rhythm section (kick, snare and hi-hat made from
 * noise and decaying sines), in its own key, scale, tempo, drum pattern and
 * instruments (additive, FM and plucked-string timbres with envelopes),
 * arranged in sections (intro, verses, choruses, a breakdown) with a
 * fade-out. The same seed always gives the same samples.
 *
 * Pure functions, no shared state: any thread. */
#ifndef CHORUS_AUDIO_SYNTH_H
#define CHORUS_AUDIO_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define SYNTH_MIN_SECONDS 1.0
#define SYNTH_MAX_SECONDS 600.0

/* A rendered piece and what the generator chose for it. */
struct synth_song {
    uint64_t seed;
    int sample_rate;
    int channels;  /* always 2 */
    float *pcm;    /* frames * channels interleaved, peak 0.89; owned */
    size_t frames; /* exactly round(seconds * sample_rate) */
    double bpm;    /* tempo */
    int tonic;     /* pitch class of the key, 0 = C */
    char key[48];  /* "D dorian" */
    char lead[16]; /* lead instrument: "pluck", "bell", ... */
};

/* Renders seconds (SYNTH_MIN_SECONDS .. SYNTH_MAX_SECONDS) of the piece of
 * seed at sample_rate (8000 .. 192000). Returns 0 or -EINVAL; the caller
 * owns *out (synth_song_free). */
int synth_render(uint64_t seed, double seconds, int sample_rate, struct synth_song **out);
void synth_song_free(struct synth_song *song);

/* The n-th seed derived from seed (one splitmix64 step): well-mixed,
 * distinct seeds for the many pieces and names of one library. */
uint64_t synth_seed(uint64_t seed, uint64_t n);

/* Invented names for demo artists, albums and track titles. */
enum synth_name_kind {
    SYNTH_NAME_ARTIST,
    SYNTH_NAME_ALBUM,
    SYNTH_NAME_TITLE,
};

/* A name of kind for seed, as a new string owned by the caller. */
char *synth_name(uint64_t seed, enum synth_name_kind kind);

#endif
