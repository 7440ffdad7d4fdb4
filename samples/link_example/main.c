/* Minimal Eidetic app in plain C: load a model, continue a prompt greedily
 * for 40 tokens, print prompt and continuation to stdout.
 *
 *   app model.eid ["prompt"]
 */
#include <stdio.h>
#include <string.h>

#include <eidetic.h>

static int print_token(void* user, int32_t token, const char* text, size_t text_len) {
  (void)token;
  *(size_t*)user += text_len;
  fwrite(text, 1, text_len, stdout);
  fflush(stdout);
  return 0; /* keep going */
}

static int fail(const char* what, eidetic_status status) {
  fprintf(stderr, "app: %s failed (status %d): %s\n", what, (int)status, eidetic_last_error());
  return 1;
}

int main(int argc, char** argv) {
  const char* prompt = argc > 2 ? argv[2] : "The computer";
  eidetic_model* model = NULL;
  eidetic_session* session = NULL;
  eidetic_sampler* sampler = NULL;
  eidetic_sampler_params params;
  eidetic_status s;
  size_t n_generated = 0, n_bytes = 0;
  int rc = 1;

  if (argc < 2) {
    fprintf(stderr, "usage: %s model.eid [prompt]\n", argv[0]);
    return 2;
  }
  s = eidetic_model_load(argv[1], NULL, &model);
  if (s != EIDETIC_OK) return fail("eidetic_model_load", s);
  s = eidetic_session_create(model, &session);
  if (s != EIDETIC_OK) {
    rc = fail("eidetic_session_create", s);
    goto done;
  }
  eidetic_sampler_params_init(&params);
  params.temperature = 0.0f;    /* greedy */
  params.repeat_penalty = 1.0f; /* no penalty */
  s = eidetic_sampler_create(model, &params, &sampler);
  if (s != EIDETIC_OK) {
    rc = fail("eidetic_sampler_create", s);
    goto done;
  }

  fputs(prompt, stdout);
  s = eidetic_generate(session, sampler, prompt, strlen(prompt), 40, print_token, &n_bytes, &n_generated);
  fputc('\n', stdout);
  if (s != EIDETIC_OK) {
    rc = fail("eidetic_generate", s);
    goto done;
  }
  fprintf(stderr, "app: %zu tokens, %zu bytes of text\n", n_generated, n_bytes);
  rc = 0;

done:
  eidetic_sampler_free(sampler);
  eidetic_session_free(session);
  eidetic_model_free(model);
  return rc;
}
