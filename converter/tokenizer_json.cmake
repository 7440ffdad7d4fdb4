# eidetic_tokenizer_json: tokenizer.json -> TokenizerData (the converter's
# side of the tokenizer; the runtime never reads JSON).
find_package(nlohmann_json REQUIRED)
add_library(eidetic_tokenizer_json STATIC ${CMAKE_CURRENT_LIST_DIR}/tokenizer_json.cpp)
target_link_libraries(eidetic_tokenizer_json PUBLIC eidetic_model nlohmann_json::nlohmann_json)
