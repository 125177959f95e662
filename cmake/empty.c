/* Keeps a module library valid while its folder has no source yet. */
typedef int chorus_empty_translation_unit;
