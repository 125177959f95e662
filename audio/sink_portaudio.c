/* sink_portaudio: the default output, through PortAudio.
 *
 * Owns one PortAudio stream. Its callback (PortAudio's audio thread) only
 * calls aout_render: copy, volume, silence on underrun.
 *
 * PortAudio itself is process-global: Pa_Initialize/Pa_Terminate are
 * reference-counted by PortAudio but not thread-safe, so the one static
 * mutex below serialises them (several engines may live in one process).
 *
 * ALSA and JACK chatter: enumerating devices makes libasound and libjack
 * print to stderr ("ALSA lib confmisc.c: cannot find card", "jack server is
 * not running"), which would scribble over the ncurses screen. Both
 * libraries take a process-wide error handler: snd_lib_error_set_handler
 * and jack_set_error_function / jack_set_info_function. We look them up
 * with dlsym (PortAudio already loaded both libraries, so Chorus needs no
 * link dependency of its own and works with a PortAudio built without
 * either) and install handlers that drop the messages, once per process,
 * before the first Pa_Initialize. This is cleaner than redirecting fd 2
 * around Pa_Initialize: it also covers messages printed later (stream
 * open, xrun recovery) and never races other threads' use of stderr.
 * The messages carry no context worth keeping; what the user needs —
 * PortAudio's error and the host API's last error text — is logged here
 * at the boundary. */
#include <dlfcn.h>
#include <portaudio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "audio/sink.h"
#include "base/log.h"
#include "base/xmalloc.h"

static pthread_mutex_t pa_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt,
                       ...)
{
}

static void jack_quiet(const char *msg)
{
}

static void install_quiet_handlers(void)
{
    typedef int (*alsa_set_fn)(void (*)(const char *, int, const char *, int, const char *, ...));
    typedef void (*jack_set_fn)(void (*)(const char *));
    alsa_set_fn alsa_set = (alsa_set_fn)dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler");
    jack_set_fn jack_err = (jack_set_fn)dlsym(RTLD_DEFAULT, "jack_set_error_function");
    jack_set_fn jack_info = (jack_set_fn)dlsym(RTLD_DEFAULT, "jack_set_info_function");
    if (alsa_set)
        alsa_set(alsa_quiet);
    if (jack_err)
        jack_err(jack_quiet);
    if (jack_info)
        jack_info(jack_quiet);
}

struct pa_sink {
    struct aout *ao;
    PaStream *stream;
    struct clog *log;
};

static int pa_callback(const void *input, void *output, unsigned long frames,
                       const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *ctx)
{
    struct pa_sink *s = ctx;
    aout_render(s->ao, output, frames);
    return paContinue;
}

static void log_pa_error(struct clog *log, const char *what, PaError e)
{
    const PaHostErrorInfo *host = Pa_GetLastHostErrorInfo();
    if (e == paUnanticipatedHostError && host && host->errorText)
        clog_warn(log, "audio", "portaudio: %s: %s (%s)", what, Pa_GetErrorText(e),
                  host->errorText);
    else
        clog_warn(log, "audio", "portaudio: %s: %s", what, Pa_GetErrorText(e));
}

/* The default output device, or the first output whose name contains
 * name. paNoDevice when there is none. */
static PaDeviceIndex pick_device(const char *name)
{
    if (!name || !*name)
        return Pa_GetDefaultOutputDevice();
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); i++) {
        const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
        if (di && di->maxOutputChannels > 0 && strstr(di->name, name))
            return i;
    }
    return paNoDevice;
}

static int pa_open_locked(struct pa_sink *s, const char *arg, struct aout_format *fmt)
{
    PaDeviceIndex dev = pick_device(arg);
    if (dev == paNoDevice) {
        clog_warn(s->log, "audio", "portaudio: no output device%s%s", arg ? " matching " : "",
                  arg ? arg : "");
        return AOUT_ENODEV;
    }
    const PaDeviceInfo *di = Pa_GetDeviceInfo(dev);
    if ((unsigned)di->maxOutputChannels < fmt->channels) {
        clog_warn(s->log, "audio", "portaudio: %s has %d output channels, %u needed", di->name,
                  di->maxOutputChannels, fmt->channels);
        return AOUT_ENODEV;
    }
    PaStreamParameters p = {
        .device = dev,
        .channelCount = (int)fmt->channels,
        .sampleFormat = fmt->sample == AOUT_S16 ? paInt16 : paFloat32,
        /* A music player wants robustness more than low latency. */
        .suggestedLatency = di->defaultHighOutputLatency,
    };
    double rate = fmt->rate;
    if (Pa_IsFormatSupported(NULL, &p, rate) != paFormatIsSupported) {
        rate = di->defaultSampleRate;
        if (Pa_IsFormatSupported(NULL, &p, rate) != paFormatIsSupported) {
            clog_warn(s->log, "audio", "portaudio: %s supports neither %u Hz nor %.0f Hz", di->name,
                      fmt->rate, di->defaultSampleRate);
            return AOUT_EDEVICE;
        }
    }
    PaError e = Pa_OpenStream(&s->stream, NULL, &p, rate, paFramesPerBufferUnspecified, paNoFlag,
                              pa_callback, s);
    if (e != paNoError) {
        log_pa_error(s->log, "opening the stream", e);
        return AOUT_EDEVICE;
    }
    fmt->rate = (unsigned)rate;
    clog_info(s->log, "audio", "portaudio: device \"%s\" (%s)", di->name,
              Pa_GetHostApiInfo(di->hostApi)->name);
    return 0;
}

static int pa_open(struct aout *ao, const char *arg, struct aout_format *fmt, struct clog *log,
                   void **state)
{
    pthread_once(&quiet_once, install_quiet_handlers);
    struct pa_sink *s = xcalloc(1, sizeof(*s));
    s->ao = ao;
    s->log = log;
    pthread_mutex_lock(&pa_lock);
    PaError e = Pa_Initialize();
    int err;
    if (e != paNoError) {
        log_pa_error(log, "initialising", e);
        err = AOUT_ENODEV;
    } else {
        err = pa_open_locked(s, arg, fmt);
        if (err < 0)
            Pa_Terminate();
    }
    pthread_mutex_unlock(&pa_lock);
    if (err < 0) {
        free(s);
        return err;
    }
    *state = s;
    return 0;
}

static int pa_start(void *state)
{
    struct pa_sink *s = state;
    PaError e = Pa_StartStream(s->stream);
    if (e != paNoError) {
        log_pa_error(s->log, "starting the stream", e);
        return AOUT_EDEVICE;
    }
    return 0;
}

static int pa_stop(void *state)
{
    struct pa_sink *s = state;
    if (Pa_IsStreamStopped(s->stream) == 1)
        return 0;
    PaError e = Pa_StopStream(s->stream);
    if (e != paNoError) {
        log_pa_error(s->log, "stopping the stream", e);
        return AOUT_EDEVICE;
    }
    return 0;
}

static void pa_close(void *state)
{
    struct pa_sink *s = state;
    pthread_mutex_lock(&pa_lock);
    Pa_CloseStream(s->stream);
    Pa_Terminate();
    pthread_mutex_unlock(&pa_lock);
    free(s);
}

const struct aout_backend aout_backend_portaudio = {
    .name = "portaudio",
    .open = pa_open,
    .start = pa_start,
    .stop = pa_stop,
    .close = pa_close,
};
