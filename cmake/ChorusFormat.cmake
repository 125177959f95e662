# `cmake --build build --target format-check` fails when a source file is
# not in the .clang-format style; `--target format` rewrites them.
find_program(CLANG_FORMAT NAMES clang-format clang-format-14)
if(CLANG_FORMAT)
    file(GLOB_RECURSE CHORUS_FORMAT_FILES CONFIGURE_DEPENDS
        ${PROJECT_SOURCE_DIR}/app/*.[ch] ${PROJECT_SOURCE_DIR}/core/*.[ch]
        ${PROJECT_SOURCE_DIR}/net/*.[ch] ${PROJECT_SOURCE_DIR}/audio/*.[ch]
        ${PROJECT_SOURCE_DIR}/ui/*.[ch] ${PROJECT_SOURCE_DIR}/tests/*.[ch])
    add_custom_target(format-check
        COMMAND ${CLANG_FORMAT} --dry-run -Werror ${CHORUS_FORMAT_FILES}
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
        COMMENT "Checking clang-format style")
    add_custom_target(format
        COMMAND ${CLANG_FORMAT} -i ${CHORUS_FORMAT_FILES}
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
        COMMENT "Formatting sources")
endif()
