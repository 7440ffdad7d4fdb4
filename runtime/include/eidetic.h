/* Eidetic: recurrent language models (Mamba, Mamba-2, ...) in constant memory.
 *
 * The C API: plain functions over opaque handles, so any language can bind it.
 * Every fallible call returns an eidetic_status; on failure
 * eidetic_last_error() describes what went wrong (per thread). No call throws,
 * aborts, or reads outside the buffers it is given.
 *
 * Typical use:
 *   eidetic_model* m;  eidetic_model_load("model.eid", NULL, &m);
 *   eidetic_session* s; eidetic_session_create(m, &s);
 *   eidetic_sampler* smp; eidetic_sampler_create(m, NULL, &smp);
 *   eidetic_generate(s, smp, "Once upon a time", 13, 100, on_token, user, NULL);
 *   eidetic_sampler_free(smp); eidetic_session_free(s); eidetic_model_free(m);
 *
 * Threads: a model may be shared by sessions; calls on one model and its
 * sessions must not run concurrently (the backend's operators are shared).
 */
#ifndef EIDETIC_H
#define EIDETIC_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define EIDETIC_API __declspec(dllexport)
#else
#define EIDETIC_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eidetic_status {
  EIDETIC_OK = 0,
  EIDETIC_ERROR_INVALID_ARGUMENT = 1, /* null handle, bad size, token id out of range */
  EIDETIC_ERROR_IO = 2,               /* cannot open / read / map a file */
  EIDETIC_ERROR_INVALID_MODEL = 3,    /* malformed or inconsistent model file */
  EIDETIC_ERROR_UNSUPPORTED = 4,      /* valid, but not handled by this build */
  EIDETIC_ERROR_OUT_OF_MEMORY = 5,
  EIDETIC_ERROR_BACKEND = 6,
  EIDETIC_ERROR_CANCELLED = 7,       /* a callback asked to stop */
  EIDETIC_ERROR_BUFFER_TOO_SMALL = 8 /* the output did not fit; the needed size is reported */
} eidetic_status;

typedef struct eidetic_model eidetic_model;
typedef struct eidetic_session eidetic_session;
typedef struct eidetic_sampler eidetic_sampler;

/* The message of the last failed call on this thread ("" if none). */
EIDETIC_API const char* eidetic_last_error(void);
EIDETIC_API const char* eidetic_version(void);

/* ---- models ------------------------------------------------------------ */

typedef struct eidetic_model_options {
  const char* backend;      /* "cpu" (default) or "vulkan" (when built with it) */
  int32_t n_threads;        /* worker threads, default 1 */
  int32_t device;           /* GPU index for GPU backends, default 0 */
  int32_t max_batch_tokens; /* prompt tokens per forward chunk, default 64 */
} eidetic_model_options;

EIDETIC_API void eidetic_model_options_init(eidetic_model_options* options);
/* options may be NULL for the defaults. */
EIDETIC_API eidetic_status eidetic_model_load(const char* path, const eidetic_model_options* options,
                                              eidetic_model** out);
EIDETIC_API void eidetic_model_free(eidetic_model* model);
EIDETIC_API int32_t eidetic_model_vocab_size(const eidetic_model* model);
/* Bytes of recurrent state one session holds (constant for any length). */
EIDETIC_API size_t eidetic_model_state_bytes(const eidetic_model* model);
/* Token ids, or -1 when the model has none. */
EIDETIC_API int32_t eidetic_model_bos(const eidetic_model* model);
EIDETIC_API int32_t eidetic_model_eos(const eidetic_model* model);
/* What runs the model, for logs: "CPU, AVX2 kernels", or the GPU with the kernel
 * forms its features chose. Valid while the model is; "" for NULL. */
EIDETIC_API const char* eidetic_model_device(const eidetic_model* model);

/* ---- tokens ------------------------------------------------------------ */

/* Text → ids. Invalid UTF-8 is tokenized as the tokenizer documents (see
 * runtime/src/tokenizer/tokenizer.h). With parse_special, special tokens written
 * in the text (e.g. "<|endoftext|>") become their ids; otherwise they are
 * plain text. If capacity is too small, returns EIDETIC_ERROR_BUFFER_TOO_SMALL
 * with *n_ids set to the needed count. */
EIDETIC_API eidetic_status eidetic_tokenize(const eidetic_model* model, const char* text, size_t text_len,
                                            int parse_special, int32_t* ids, size_t capacity, size_t* n_ids);
/* Ids → UTF-8 text (not NUL-terminated). Same capacity rule, in bytes. */
EIDETIC_API eidetic_status eidetic_detokenize(const eidetic_model* model, const int32_t* ids, size_t n_ids, char* text,
                                              size_t capacity, size_t* text_len);

/* ---- sessions ---------------------------------------------------------- */

EIDETIC_API eidetic_status eidetic_session_create(eidetic_model* model, eidetic_session** out);
EIDETIC_API void eidetic_session_free(eidetic_session* session);
/* Back to the empty state, as if just created. */
EIDETIC_API eidetic_status eidetic_session_reset(eidetic_session* session);
/* dst takes src's state, logits and position; both of the same model. */
EIDETIC_API eidetic_status eidetic_session_copy(eidetic_session* dst, const eidetic_session* src);
/* Tokens processed since creation or reset. */
EIDETIC_API uint64_t eidetic_session_position(const eidetic_session* session);

/* Feed a prompt (n >= 1 tokens); the logits of its last token become available. */
EIDETIC_API eidetic_status eidetic_prefill(eidetic_session* session, const int32_t* ids, size_t n_ids);
/* Feed one token. */
EIDETIC_API eidetic_status eidetic_decode(eidetic_session* session, int32_t id);
/* Logits of the last fed token: *logits points to vocab_size floats owned by the
 * session, valid until its next call. */
EIDETIC_API eidetic_status eidetic_logits(const eidetic_session* session, const float** logits, size_t* n);

/* ---- sampling ---------------------------------------------------------- */

typedef struct eidetic_sampler_params {
  float temperature;     /* 0 = greedy; default 0.8 */
  int32_t top_k;         /* 0 = off; default 40 */
  float top_p;           /* 1 = off; default 0.95 */
  float min_p;           /* 0 = off; default 0.05 */
  float repeat_penalty;  /* 1 = off; default 1.1 */
  int32_t repeat_last_n; /* tokens the penalty looks back on; default 64 */
  uint64_t seed;         /* same seed, same output; default 0 */
} eidetic_sampler_params;

EIDETIC_API void eidetic_sampler_params_init(eidetic_sampler_params* params);
/* params may be NULL for the defaults. */
EIDETIC_API eidetic_status eidetic_sampler_create(const eidetic_model* model, const eidetic_sampler_params* params,
                                                  eidetic_sampler** out);
EIDETIC_API void eidetic_sampler_free(eidetic_sampler* sampler);
/* Pick the next token from the session's current logits and record it. */
EIDETIC_API eidetic_status eidetic_sample(eidetic_sampler* sampler, const eidetic_session* session, int32_t* token);

/* ---- generation -------------------------------------------------------- */

/* Called for each generated token with the text it completes (possibly empty
 * while a multi-byte character is incomplete). If generation ends with an
 * incomplete character held back, one last call passes token -1 and those bytes
 * (invalid ones as U+FFFD). Return non-zero to stop. */
typedef int (*eidetic_token_callback)(void* user, int32_t token, const char* text, size_t text_len);

/* Tokenize prompt, prefill, then sample and decode up to max_tokens tokens,
 * stopping early at the model's end-of-sequence token. Returns
 * EIDETIC_ERROR_CANCELLED if the callback stopped it. *n_generated (may be
 * NULL) receives the count of tokens generated. */
EIDETIC_API eidetic_status eidetic_generate(eidetic_session* session, eidetic_sampler* sampler, const char* prompt,
                                            size_t prompt_len, size_t max_tokens, eidetic_token_callback callback,
                                            void* user, size_t* n_generated);

#ifdef __cplusplus
}
#endif

#endif /* EIDETIC_H */
