# Compiler warnings and sanitizers, applied through the interface target
# chorus_flags that every Chorus target links.
add_library(chorus_flags INTERFACE)
target_compile_options(chorus_flags INTERFACE
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wformat=2 -Wno-unused-parameter)
target_compile_definitions(chorus_flags INTERFACE _GNU_SOURCE)
if(CHORUS_WERROR)
    target_compile_options(chorus_flags INTERFACE -Werror)
endif()
if(CHORUS_FUZZ)
    # Coverage instrumentation for every library, so libFuzzer sees which
    # branches of the code under test an input reaches; the fuzz targets
    # themselves link the fuzzer runtime (tests/CMakeLists.txt).
    target_compile_options(chorus_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
        -fno-omit-frame-pointer)
    target_link_options(chorus_flags INTERFACE -fsanitize=address,undefined)
endif()
if(CHORUS_SANITIZE)
    target_compile_options(chorus_flags INTERFACE
        -fsanitize=${CHORUS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(chorus_flags INTERFACE -fsanitize=${CHORUS_SANITIZE})
endif()

# chorus_module(<name> DEPS <targets...>): a module library (core, net,
# audio, ui) with its public include directory <name>/include and its
# private headers (<name>/internal.h) visible only to its own sources.
# Sources are every .c file directly in the module's folder.
function(chorus_module name)
    cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
    file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
    if(NOT srcs)
        # A module with headers only so far: nothing to compile yet.
        add_library(chorus_${name} INTERFACE)
        target_include_directories(chorus_${name} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
        target_link_libraries(chorus_${name} INTERFACE chorus_flags ${M_DEPS})
        return()
    endif()
    add_library(chorus_${name} STATIC ${srcs})
    target_include_directories(chorus_${name}
        PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
        PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(chorus_${name} PUBLIC chorus_flags ${M_DEPS})
endfunction()
