/* synth: seeded pieces of music rendered to PCM, and invented names.
 *
 * Owns nothing between calls: a render builds its song state, fills one
 * float buffer and hands it over. Runs on the caller's thread (chorusd
 * demo-library, tests); never does I/O.
 *
 * How a piece is made: a seeded generator picks a key, a scale, a tempo, a
 * four-chord progression of diatonic triads, a drum and a bass pattern and
 * three timbres (lead, pad, bass). The arrangement is a list of sections
 * (intro, verse, chorus, breakdown, outro); each bar renders its notes
 * straight into the stereo mix. The melody is a two-bar motif generated per
 * section (a random walk over scale degrees, with strong beats pulled onto
 * chord tones), repeated, sequenced up and resolved to the tonic at the end
 * of a section, and echoed like a tape delay. Finally the mix is faded and
 * normalised to a fixed peak below full scale (never clipped). */
#include "audio/synth.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

#define TABLE_LEN 2048
#define PEAK      0.89f
#define STEPS     16 /* sixteenth notes per bar */

/* ---- random numbers: splitmix64, one stream per song ---- */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* Uniform in [lo, hi]. */
static int rng_int(struct rng *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

#define PICK(r, array) (&(array)[rng_int((r), 0, (int)(sizeof(array) / sizeof((array)[0])) - 1)])

/* ---- musical material ---- */

struct scale {
    const char *name;
    int steps[7];
};

static const struct scale scales[] = {
    {"major", {0, 2, 4, 5, 7, 9, 11}},          {"minor", {0, 2, 3, 5, 7, 8, 10}},
    {"dorian", {0, 2, 3, 5, 7, 9, 10}},         {"mixolydian", {0, 2, 4, 5, 7, 9, 10}},
    {"harmonic minor", {0, 2, 3, 5, 7, 8, 11}}, {"lydian", {0, 2, 4, 6, 7, 9, 11}},
};

static const char *const note_names[12] = {"C",  "C#", "D",  "Eb", "E",  "F",
                                           "F#", "G",  "Ab", "A",  "Bb", "B"};

/* Four chords as scale degrees (0 = the tonic triad). */
static const int progressions[][4] = {
    {0, 4, 5, 3}, {5, 3, 0, 4}, {0, 5, 3, 4}, {0, 3, 4, 3}, {0, 3, 0, 4},
    {1, 4, 0, 5}, {0, 2, 3, 4}, {3, 4, 2, 5}, {0, 5, 1, 4}, {0, 6, 5, 4},
};

/* x: hit, o: open hi-hat (hat row only). */
struct drum_pattern {
    const char *kick, *snare, *hat;
};

static const struct drum_pattern drum_patterns[] = {
    {"x...x...x...x...", "....x.......x...", "x.x.x.x.x.x.x.xo"},
    {"x.......x.x.....", "....x.......x...", "x.x.x.x.x.x.x.x."},
    {"x..x..x...x.....", "....x.......x...", "xxxxxxxxxxxxxxxx"},
    {"x.....x...x..x..", "....x.......x..x", "x.xxx.xxx.xxx.xo"},
    {"x.......x.......", "........x.......", "x.x.x.x.x.x.x.x."},
    {"x..x....x..x....", "....x.......x...", "..o...o...o...o."},
};

/* r: chord root, f: fifth, o: octave. */
static const char *const bass_patterns[] = {
    "r.......r.......", "r..r..r.r..r..r.", "r.r.r.r.r.r.r.r.",
    "r.....f.r.....o.", "r..f..o.r..f..r.",
};

/* Rhythm cells for one beat of melody (x: a note starts). */
static const char *const rhythm_cells[] = {"x...", "x.x.", "x..x", "xxx.", "x.xx",
                                           ".x.x", "x...", "x.x.", "....", "xx.x"};

enum timbre_kind { TIMBRE_TABLE, TIMBRE_FM, TIMBRE_PLUCK };

struct timbre {
    const char *name;
    enum timbre_kind kind;
    float harmonics[12]; /* TABLE: amplitude of partial k+1 */
    double attack, decay, sustain, release;
    double fm_ratio, fm_index, fm_decay; /* FM */
    double damp;                         /* PLUCK: loss per period */
    double vibrato;                      /* depth as a fraction of pitch */
    double detune;                       /* cents of a second oscillator */
};

static const struct timbre leads[] = {
    {.name = "pluck",
     .kind = TIMBRE_PLUCK,
     .attack = 0.002,
     .sustain = 1,
     .release = 0.08,
     .damp = 0.996},
    {.name = "bell",
     .kind = TIMBRE_FM,
     .attack = 0.002,
     .decay = 0.6,
     .sustain = 0.25,
     .release = 0.4,
     .fm_ratio = 3.5,
     .fm_index = 2.5,
     .fm_decay = 0.5},
    {.name = "square",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, 0, .33f, 0, .2f, 0, .14f, 0, .11f},
     .attack = 0.01,
     .decay = 0.15,
     .sustain = 0.7,
     .release = 0.12,
     .vibrato = 0.004},
    {.name = "saw",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, .5f, .33f, .25f, .2f, .17f, .14f, .12f, .11f, .1f, .09f, .08f},
     .attack = 0.02,
     .decay = 0.2,
     .sustain = 0.6,
     .release = 0.15,
     .vibrato = 0.005,
     .detune = 7},
    {.name = "organ",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, .8f, .6f, .4f, 0, .25f, 0, .2f},
     .attack = 0.005,
     .decay = 0.05,
     .sustain = 0.9,
     .release = 0.08},
    {.name = "flute",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, .25f, .08f, .03f},
     .attack = 0.06,
     .decay = 0.1,
     .sustain = 0.85,
     .release = 0.15,
     .vibrato = 0.006},
    {.name = "e-piano",
     .kind = TIMBRE_FM,
     .attack = 0.001,
     .decay = 1.2,
     .sustain = 0.1,
     .release = 0.3,
     .fm_ratio = 1.0,
     .fm_index = 1.6,
     .fm_decay = 0.35},
};

static const struct timbre pads[] = {
    {.name = "warm",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, .45f, .2f, .1f, .05f},
     .attack = 0.35,
     .decay = 0.5,
     .sustain = 0.8,
     .release = 0.7,
     .detune = 9},
    {.name = "strings",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, .5f, .33f, .25f, .2f, .16f, .14f, .12f},
     .attack = 0.5,
     .decay = 0.3,
     .sustain = 0.85,
     .release = 0.9,
     .vibrato = 0.003,
     .detune = 12},
    {.name = "organ",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, .7f, .4f, .2f, 0, .1f},
     .attack = 0.05,
     .decay = 0.1,
     .sustain = 0.9,
     .release = 0.2},
};

static const struct timbre basses[] = {
    {.name = "pluck bass",
     .kind = TIMBRE_PLUCK,
     .attack = 0.002,
     .sustain = 1,
     .release = 0.05,
     .damp = 0.993},
    {.name = "sub",
     .kind = TIMBRE_TABLE,
     .harmonics = {1, .3f, .05f},
     .attack = 0.005,
     .decay = 0.25,
     .sustain = 0.5,
     .release = 0.06},
    {.name = "fm bass",
     .kind = TIMBRE_FM,
     .attack = 0.001,
     .decay = 0.3,
     .sustain = 0.4,
     .release = 0.08,
     .fm_ratio = 1.0,
     .fm_index = 2.0,
     .fm_decay = 0.15},
};

enum section { SEC_INTRO, SEC_VERSE, SEC_CHORUS, SEC_BREAK, SEC_OUTRO };

struct motif_note {
    int step; /* 0 .. 2 * STEPS - 1 */
    int len;  /* in steps */
    int degree;
};

struct motif {
    struct motif_note notes[2 * STEPS];
    int count;
};

/* A wavetable built for one timbre at this song's rate. */
struct wavetable {
    const struct timbre *timbre;
    float data[TABLE_LEN + 1]; /* one guard sample for interpolation */
};

struct song {
    struct rng rng;
    int rate;
    size_t frames;
    float *out; /* interleaved stereo mix */
    double step_s;
    int tonic_midi; /* the key's tonic in the chord register */
    const struct scale *scale;
    const int *prog;
    int bars_per_chord;
    const struct drum_pattern *drums;
    const char *bass_pattern;
    bool arpeggio;
    bool sevenths;
    struct wavetable tables[3];
    const struct timbre *lead, *pad, *bass;
    struct motif verse, chorus;
};

/* ---- voices ---- */

static void build_table(struct wavetable *w, const struct timbre *t, int rate)
{
    w->timbre = t;
    /* Band-limit for notes up to ~1.4 kHz: partials stay below Nyquist. */
    int max_partials = (int)(rate / 2 / 1400.0);
    double peak = 0;
    for (int i = 0; i < TABLE_LEN; i++) {
        double v = 0;
        for (int k = 0; k < 12 && k < max_partials; k++)
            v += t->harmonics[k] * sin(2 * M_PI * (k + 1) * i / TABLE_LEN);
        w->data[i] = (float)v;
        if (fabs(v) > peak)
            peak = fabs(v);
    }
    for (int i = 0; i < TABLE_LEN; i++)
        w->data[i] = peak > 0 ? (float)(w->data[i] / peak) : 0.0f;
    w->data[TABLE_LEN] = w->data[0];
}

static const struct wavetable *table_for(const struct song *s, const struct timbre *t)
{
    for (int i = 0; i < 3; i++)
        if (s->tables[i].timbre == t)
            return &s->tables[i];
    return NULL;
}

static double envelope(const struct timbre *t, double x, double dur)
{
    double at = x < dur ? x : dur, level;
    if (at < t->attack)
        level = at / t->attack;
    else if (at < t->attack + t->decay)
        level = 1 - (1 - t->sustain) * (at - t->attack) / t->decay;
    else
        level = t->sustain;
    if (x > dur)
        level *= 1 - (x - dur) / t->release;
    return level > 0 ? level : 0;
}

static double table_read(const struct wavetable *w, double phase)
{
    double pos = phase * TABLE_LEN;
    int i = (int)pos;
    double frac = pos - i;
    return w->data[i] + frac * (w->data[i + 1] - w->data[i]);
}

/* Adds one note (start and duration in seconds) to the mix. */
static void play(struct song *s, const struct timbre *t, double start, double dur, double freq,
                 double vel, double pan)
{
    size_t i0 = (size_t)(start * s->rate);
    if (i0 >= s->frames || dur <= 0)
        return;
    size_t n = (size_t)((dur + t->release) * s->rate);
    if (n > s->frames - i0)
        n = s->frames - i0;
    double angle = (pan + 1) * M_PI / 4;
    float gl = (float)(vel * cos(angle)), gr = (float)(vel * sin(angle));
    float *out = s->out + 2 * i0;
    double inv_rate = 1.0 / s->rate;

    if (t->kind == TIMBRE_PLUCK) {
        /* Karplus-Strong: a noise burst circulating in a damped delay line. */
        int period = (int)lround(s->rate / freq);
        if (period < 2)
            period = 2;
        float *line = xmalloc((size_t)period * sizeof(float));
        for (int k = 0; k < period; k++)
            line[k] = (float)(rng_unit(&s->rng) * 2 - 1);
        int idx = 0;
        for (size_t i = 0; i < n; i++) {
            int next = idx + 1 == period ? 0 : idx + 1;
            double y = line[idx];
            line[idx] = (float)(t->damp * 0.5 * (y + line[next]));
            idx = next;
            float v = (float)(y * envelope(t, (double)i * inv_rate, dur));
            out[2 * i] += gl * v;
            out[2 * i + 1] += gr * v;
        }
        free(line);
        return;
    }
    const struct wavetable *w = table_for(s, t);
    double p1 = 0, p2 = 0.25, pm = 0;
    double detune = pow(2.0, t->detune / 1200.0);
    for (size_t i = 0; i < n; i++) {
        double x = (double)i * inv_rate;
        double f = freq;
        if (t->vibrato > 0 && x > 0.15)
            f *= 1 + t->vibrato * sin(2 * M_PI * 5.5 * x) * fmin(1.0, (x - 0.15) / 0.3);
        double vl, vr;
        if (t->kind == TIMBRE_FM) {
            double index = t->fm_index * (0.2 + exp(-x / t->fm_decay));
            double v = sin(2 * M_PI * p1 + index * sin(2 * M_PI * pm));
            pm += f * t->fm_ratio * inv_rate;
            pm -= floor(pm);
            vl = vr = v;
        } else if (t->detune > 0) {
            /* Two detuned oscillators, one per side: width. */
            double a = table_read(w, p1), b = table_read(w, p2);
            p2 += f * detune * inv_rate;
            p2 -= floor(p2);
            vl = 0.7 * a + 0.3 * b;
            vr = 0.3 * a + 0.7 * b;
        } else {
            vl = vr = table_read(w, p1);
        }
        p1 += f * inv_rate;
        p1 -= floor(p1);
        double env = envelope(t, x, dur);
        out[2 * i] += (float)(gl * vl * env);
        out[2 * i + 1] += (float)(gr * vr * env);
    }
}

/* Drums: k kick, s snare, h closed hat, o open hat. */
static void drum(struct song *s, char kind, double start, double vel)
{
    size_t i0 = (size_t)(start * s->rate);
    if (i0 >= s->frames)
        return;
    double len = kind == 'k' ? 0.45 : kind == 's' ? 0.3 : kind == 'o' ? 0.3 : 0.06;
    size_t n = (size_t)(len * s->rate);
    if (n > s->frames - i0)
        n = s->frames - i0;
    double pan = kind == 'h' || kind == 'o' ? 0.35 : kind == 's' ? 0.08 : 0;
    double angle = (pan + 1) * M_PI / 4;
    float *out = s->out + 2 * i0;
    double phase = 0, lp1 = 0, lp2 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)i / s->rate, v;
        double noise = rng_unit(&s->rng) * 2 - 1;
        switch (kind) {
        case 'k': {
            double f = 45 + 110 * exp(-x / 0.035); /* the pitch drop of a kick */
            phase += f / s->rate;
            v = sin(2 * M_PI * phase) * exp(-x / 0.18) + (x < 0.002 ? 0.3 * noise : 0);
            break;
        }
        case 's':
            lp1 += 0.25 * (noise - lp1);
            v = 0.8 * (noise - lp1) * exp(-x / 0.09) +
                0.5 * sin(2 * M_PI * 190 * x) * exp(-x / 0.05);
            break;
        default:
            /* Two one-pole high passes leave the hiss of a cymbal. */
            lp1 += 0.5 * (noise - lp1);
            lp2 += 0.5 * ((noise - lp1) - lp2);
            v = ((noise - lp1) - lp2) * exp(-x / (kind == 'o' ? 0.12 : 0.018));
            break;
        }
        out[2 * i] += (float)(vel * v * cos(angle));
        out[2 * i + 1] += (float)(vel * v * sin(angle));
    }
}

/* ---- composition ---- */

static double midi_freq(int midi)
{
    return 440.0 * pow(2.0, (midi - 69) / 12.0);
}

/* The MIDI note of a scale degree (any integer) above base. */
static int degree_midi(const struct song *s, int base, int degree)
{
    int octave = degree >= 0 ? degree / 7 : -((6 - degree) / 7);
    return base + 12 * octave + s->scale->steps[degree - 7 * octave];
}

static void make_motif(struct song *s, struct motif *m, int density, int base_degree)
{
    m->count = 0;
    int degree = base_degree + rng_int(&s->rng, 0, 4);
    for (int beat = 0; beat < 8; beat++) {
        const char *cell = rhythm_cells[rng_int(&s->rng, 0, density)];
        for (int k = 0; k < 4; k++) {
            if (cell[k] != 'x')
                continue;
            static const int moves[] = {-2, -1, -1, 0, 1, 1, 2, 3, -3, 1};
            degree += moves[rng_int(&s->rng, 0, 9)];
            if (degree < base_degree - 2)
                degree = base_degree + 1;
            if (degree > base_degree + 9)
                degree = base_degree + 6;
            m->notes[m->count++] = (struct motif_note){.step = beat * 4 + k, .degree = degree};
        }
    }
    /* A note lasts until the next starts (at most a half note). */
    for (int i = 0; i < m->count; i++) {
        int next = i + 1 < m->count ? m->notes[i + 1].step : 2 * STEPS;
        int len = next - m->notes[i].step;
        m->notes[i].len = len > 8 ? 8 : len;
    }
}

/* Pulls a degree onto the nearest tone of the triad on chord. */
static int snap_to_chord(int degree, int chord)
{
    for (int d = 0; d < 4; d++)
        for (int sign = -1; sign <= 1; sign += 2) {
            int c = degree + sign * d;
            int rel = ((c - chord) % 7 + 7) % 7;
            if (rel == 0 || rel == 2 || rel == 4)
                return c;
        }
    return degree;
}

static enum section section_of(int bar, int total_bars)
{
    int intro = total_bars >= 12 ? 2 : 0;
    int outro = total_bars >= 16 ? 4 : 0;
    if (bar < intro)
        return SEC_INTRO;
    if (bar >= total_bars - outro)
        return SEC_OUTRO;
    /* verse 8, chorus 8, verse 8, chorus 8, break 4, then again */
    int pos = (bar - intro) % 36;
    if (pos < 8 || (pos >= 16 && pos < 24))
        return SEC_VERSE;
    if (pos < 32)
        return SEC_CHORUS;
    return SEC_BREAK;
}

static void render_melody(struct song *s, const struct motif *m, double bar_start, int bar,
                          int chord, bool last_of_section, int lift)
{
    int half = bar % 2; /* which bar of the two-bar motif */
    int lead_base = s->tonic_midi + 12;
    /* Third repetition in eight bars: the motif a step higher (a sequence). */
    int shift = (bar % 8) / 2 == 2 ? 1 : 0;
    for (int i = 0; i < m->count; i++) {
        const struct motif_note *n = &m->notes[i];
        if (n->step / STEPS != half)
            continue;
        int step = n->step % STEPS;
        int degree = n->degree + shift + lift;
        if (step % 4 == 0)
            degree = snap_to_chord(degree, chord);
        bool final = last_of_section && i == m->count - 1;
        if (final)
            degree = 7 * (degree / 7); /* resolve on the tonic */
        double start = bar_start + step * s->step_s;
        double dur = (final ? 8 : n->len) * s->step_s * 0.9;
        double vel = 0.3 * (step % 4 == 0 ? 1.0 : 0.8) * (0.9 + 0.2 * rng_unit(&s->rng));
        double f = midi_freq(degree_midi(s, lead_base, degree));
        play(s, s->lead, start, dur, f, vel, -0.15);
        /* Echoes: a dotted eighth later, then again, panned across. */
        play(s, s->lead, start + 3 * s->step_s, dur, f, vel * 0.3, 0.5);
        play(s, s->lead, start + 6 * s->step_s, dur, f, vel * 0.12, -0.5);
    }
}

static void render_bar(struct song *s, int bar, int total_bars)
{
    enum section sec = section_of(bar, total_bars);
    double bar_s = STEPS * s->step_s, t0 = bar * bar_s;
    int chord = s->prog[(bar / s->bars_per_chord) % 4];

    if (bar % s->bars_per_chord == 0 && sec != SEC_BREAK) {
        int tones = s->sevenths ? 4 : 3;
        for (int k = 0; k < tones; k++) {
            double f = midi_freq(degree_midi(s, s->tonic_midi, chord + 2 * k));
            play(s, s->pad, t0, s->bars_per_chord * bar_s * 0.98, f, 0.11, k % 2 ? 0.4 : -0.4);
        }
    }
    if (sec == SEC_BREAK) {
        /* Breakdown: the chord as a slow arpeggio, no drums. */
        for (int k = 0; k < 4; k++) {
            double f = midi_freq(degree_midi(s, s->tonic_midi + 12, chord + 2 * k));
            play(s, s->pad, t0 + k * 4 * s->step_s, bar_s - k * 4 * s->step_s, f, 0.14,
                 k % 2 ? 0.3 : -0.3);
        }
    }
    if (sec != SEC_INTRO && sec != SEC_BREAK) {
        int root = degree_midi(s, s->tonic_midi - 12, chord);
        for (int k = 0; k < STEPS; k++) {
            char c = s->bass_pattern[k];
            if (c == '.')
                continue;
            int len = 1;
            while (k + len < STEPS && s->bass_pattern[k + len] == '.' && len < 4)
                len++;
            int midi = c == 'f' ? root + 7 : c == 'o' ? root + 12 : root;
            play(s, s->bass, t0 + k * s->step_s, len * s->step_s * 0.85, midi_freq(midi), 0.42, 0);
        }
    }
    bool section_end = section_of(bar + 1, total_bars) != sec;
    for (int k = 0; k < STEPS; k++) {
        double t = t0 + k * s->step_s;
        if (sec == SEC_BREAK)
            break;
        char h = s->drums->hat[k];
        if (h != '.')
            drum(s,
                 sec == SEC_CHORUS && k % 4 == 2 ? 'o'
                 : h == 'o'                      ? 'o'
                                                 : 'h',
                 t, k % 4 == 0 ? 0.2 : 0.14);
        if (sec == SEC_INTRO)
            continue;
        if (s->drums->kick[k] == 'x')
            drum(s, 'k', t, 0.85);
        bool fill = section_end && k >= 13; /* a short snare fill into the next section */
        if (s->drums->snare[k] == 'x' || fill)
            drum(s, 's', t, s->drums->snare[k] == 'x' ? 0.5 : 0.3);
    }
    if (sec == SEC_VERSE || sec == SEC_CHORUS)
        render_melody(s, sec == SEC_VERSE ? &s->verse : &s->chorus, t0, bar, chord, section_end,
                      sec == SEC_CHORUS ? 2 : 0);
    if (sec == SEC_CHORUS && s->arpeggio) {
        for (int k = 0; k < STEPS; k += 2) {
            int tone = (k / 2) % 4;
            double f = midi_freq(degree_midi(s, s->tonic_midi + 12, chord + 2 * tone));
            play(s, &leads[0], t0 + k * s->step_s, s->step_s * 1.5, f, 0.1, 0.45);
        }
    }
}

static void finish_mix(struct song *s)
{
    size_t fade_in = (size_t)(0.01 * s->rate);
    double fade_s = fmin(3.0, (double)s->frames / s->rate / 4);
    size_t fade_out = (size_t)(fade_s * s->rate);
    float peak = 0;
    for (size_t i = 0; i < s->frames; i++) {
        double g = 1;
        if (i < fade_in)
            g = (double)i / fade_in;
        if (i + fade_out > s->frames)
            g *= (double)(s->frames - i) / fade_out;
        for (int c = 0; c < 2; c++) {
            float *v = &s->out[2 * i + c];
            *v = (float)(*v * g);
            if (fabsf(*v) > peak)
                peak = fabsf(*v);
        }
    }
    if (peak > 0)
        for (size_t i = 0; i < 2 * s->frames; i++)
            s->out[i] *= PEAK / peak;
}

int synth_render(uint64_t seed, double seconds, int sample_rate, struct synth_song **out)
{
    if (!(seconds >= SYNTH_MIN_SECONDS && seconds <= SYNTH_MAX_SECONDS) || sample_rate < 8000 ||
        sample_rate > 192000)
        return -EINVAL;
    struct song *s = xcalloc(1, sizeof(*s));
    s->rng.s = seed;
    s->rate = sample_rate;
    s->frames = (size_t)llround(seconds * sample_rate);
    s->out = xcalloc(2 * s->frames + 1, sizeof(float));

    int tonic = rng_int(&s->rng, 0, 11);
    s->tonic_midi = 48 + tonic;
    s->scale = PICK(&s->rng, scales);
    double bpm = 76 + rng_int(&s->rng, 0, 68);
    s->step_s = 60.0 / bpm / 4;
    s->prog = *PICK(&s->rng, progressions);
    s->bars_per_chord = bpm > 118 ? 2 : 1;
    s->drums = PICK(&s->rng, drum_patterns);
    s->bass_pattern = *PICK(&s->rng, bass_patterns);
    s->arpeggio = rng_unit(&s->rng) < 0.5;
    s->sevenths = rng_unit(&s->rng) < 0.4;
    s->lead = PICK(&s->rng, leads);
    s->pad = PICK(&s->rng, pads);
    s->bass = PICK(&s->rng, basses);
    build_table(&s->tables[0], s->lead, sample_rate);
    build_table(&s->tables[1], s->pad, sample_rate);
    build_table(&s->tables[2], s->bass, sample_rate);
    make_motif(s, &s->verse, 6, 0);
    make_motif(s, &s->chorus, 9, 2);

    int total_bars = (int)ceil(seconds / (STEPS * s->step_s));
    for (int bar = 0; bar < total_bars; bar++)
        render_bar(s, bar, total_bars);
    finish_mix(s);

    struct synth_song *song = xcalloc(1, sizeof(*song));
    song->seed = seed;
    song->sample_rate = sample_rate;
    song->channels = 2;
    song->pcm = s->out;
    song->frames = s->frames;
    song->bpm = bpm;
    song->tonic = tonic;
    snprintf(song->key, sizeof(song->key), "%s %s", note_names[tonic], s->scale->name);
    snprintf(song->lead, sizeof(song->lead), "%s", s->lead->name);
    free(s);
    *out = song;
    return 0;
}

void synth_song_free(struct synth_song *song)
{
    if (!song)
        return;
    free(song->pcm);
    free(song);
}

uint64_t synth_seed(uint64_t seed, uint64_t n)
{
    struct rng r = {.s = seed + 0x9E3779B97F4A7C15ull * n};
    return rng_next(&r);
}

/* ---- names ---- */

static const char *const adjectives[] = {
    "Amber",   "Silver", "Quiet",  "Velvet",    "Hollow", "Electric", "Paper",    "Northern",
    "Crimson", "Slow",   "Golden", "Distant",   "Wild",   "Glass",    "Midnight", "Little",
    "Lunar",   "Static", "Blue",   "Burning",   "Secret", "Frozen",   "Restless", "Gentle",
    "Neon",    "Copper", "Hidden", "Wandering", "Bright", "Salt",
};
static const char *const nouns[] = {
    "Harbour", "Lantern", "Orchard",   "Signal",  "Comet",   "River",      "Tide",    "Parade",
    "Engine",  "Garden",  "Atlas",     "Feather", "Machine", "Meadow",     "Echo",    "Circuit",
    "Horizon", "Lake",    "Sparrow",   "Forest",  "Mirror",  "Island",     "Station", "Valley",
    "Window",  "Ember",   "Satellite", "Canyon",  "Ocean",   "Lighthouse",
};
static const char *const first_names[] = {"Mira", "Otto",   "Lena",  "Jonah", "Ines",  "Felix",
                                          "Ada",  "Rafael", "Noor",  "Emil",  "Sofia", "Tomas",
                                          "Yara", "Hugo",   "Clara", "Malik"};
static const char *const last_names[] = {
    "Kestrel", "Vale",  "Marlow",   "Okafor", "Lindqvist", "Sato",  "Moreau",  "Castellano",
    "Brandt",  "Novak", "Ferreira", "Quinn",  "Halloran",  "Adler", "Petrova", "Reyes"};
static const char *const places[] = {"Lisbon", "the North", "Avalon Street", "the Coast",
                                     "Kyoto",  "Winter",    "the Valley",    "Brighton",
                                     "Mars",   "Nowhere"};
static const char *const verbs[] = {"Chasing", "Waiting for", "Dancing with", "Leaving",
                                    "Finding", "Dreaming of", "Counting",     "Following",
                                    "Holding", "Calling"};

static char *plural(const char *noun)
{
    size_t n = strlen(noun);
    char last = noun[n - 1];
    if (last == 'y' && !strchr("aeiou", noun[n - 2]))
        return xasprintf("%.*sies", (int)(n - 1), noun);
    if (last == 's' || last == 'x' || last == 'o' || last == 'h')
        return xasprintf("%ses", noun);
    return xasprintf("%ss", noun);
}

char *synth_name(uint64_t seed, enum synth_name_kind kind)
{
    struct rng r = {.s = seed * 0x2545F4914F6CDD1Dull + (uint64_t)kind * 0x9E3779B97F4A7C15ull};
    const char *adj = *PICK(&r, adjectives), *noun = *PICK(&r, nouns);
    const char *noun2 = *PICK(&r, nouns), *place = *PICK(&r, places);
    int form = rng_int(&r, 0, 3);
    char *pl = plural(noun), *name;
    switch (kind) {
    case SYNTH_NAME_ARTIST:
        if (form == 0)
            name = xasprintf("%s %s", *PICK(&r, first_names), *PICK(&r, last_names));
        else if (form == 1)
            name = xasprintf("The %s %s", adj, pl);
        else if (form == 2)
            name = xasprintf("%s %s", adj, noun);
        else
            name = xasprintf("%s and the %s", *PICK(&r, first_names), pl);
        break;
    case SYNTH_NAME_ALBUM:
        if (form == 0)
            name = xasprintf("%s %s", adj, noun);
        else if (form == 1)
            name = xasprintf("%s of %s", pl, place);
        else if (form == 2)
            name = xasprintf("Songs from %s", place);
        else
            name = xasprintf("The %s Sessions", noun);
        break;
    default:
        if (form == 0)
            name = xasprintf("%s %s", adj, noun);
        else if (form == 1)
            name = xasprintf("%s the %s", *PICK(&r, verbs), noun2);
        else if (form == 2)
            name = xasprintf("%s in %s", noun, place);
        else
            name = xasprintf("Under the %s %s", adj, noun2);
        break;
    }
    free(pl);
    return name;
}
