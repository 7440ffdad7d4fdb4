# eidetic-tokenizer-bench: tokenizer encode throughput (one JSON line). It
# reads tokenizer.json directly, so it needs the converter's JSON reader.
if(TARGET eidetic_tokenizer_json)
  add_executable(eidetic-tokenizer-bench ${CMAKE_CURRENT_LIST_DIR}/tokenizer_bench.cpp)
  target_link_libraries(eidetic-tokenizer-bench PRIVATE eidetic_model eidetic_tokenizer_json CLI11::CLI11)
  target_compile_definitions(eidetic-tokenizer-bench PRIVATE EIDETIC_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
