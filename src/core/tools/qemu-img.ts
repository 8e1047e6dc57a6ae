// The external-tool helpers live in src/tools/ (shared by the core and the built-in drivers);
// this re-export keeps src/core/doctor.ts's import working until it imports ../tools/ itself.
export * from '../../tools/qemu-img.js'
