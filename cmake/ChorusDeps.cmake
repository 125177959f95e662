# Finds every dependency through pkg-config. A missing one stops the
# configure step with the Debian package that provides it, so a newcomer
# knows exactly what to install (scripts/setup.sh installs all of them).
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
    message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' "
                        "(or run scripts/setup.sh)")
endif()

# chorus_require(<target-suffix> <pkg-config module> <debian package>)
# defines the imported target Chorus::<target-suffix>.
function(chorus_require name module debian_pkg)
    pkg_check_modules(CHORUS_DEP_${name} QUIET IMPORTED_TARGET GLOBAL ${module})
    if(NOT CHORUS_DEP_${name}_FOUND)
        message(FATAL_ERROR
            "Missing dependency '${module}' (pkg-config). "
            "Install the Debian package '${debian_pkg}': apt-get install ${debian_pkg} "
            "(or run scripts/setup.sh, which installs everything Chorus needs).")
    endif()
    add_library(Chorus::${name} ALIAS PkgConfig::CHORUS_DEP_${name})
endfunction()

chorus_require(uv          libuv          libuv1-dev)
chorus_require(ssl         libssl         libssl-dev)
chorus_require(crypto      libcrypto      libssl-dev)
chorus_require(avformat    libavformat    libavformat-dev)
chorus_require(avcodec     libavcodec     libavcodec-dev)
chorus_require(avutil      libavutil      libavutil-dev)
chorus_require(swresample  libswresample  libswresample-dev)
chorus_require(portaudio   portaudio-2.0  portaudio19-dev)
chorus_require(sqlite3     sqlite3        libsqlite3-dev)
chorus_require(ncursesw    ncursesw       libncurses-dev)
chorus_require(jansson     jansson        libjansson-dev)

find_package(Threads REQUIRED)
