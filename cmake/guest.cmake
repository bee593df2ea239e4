# Guest images: freestanding x86-64 ELF built with the host gcc. Same
# warnings as the host; no libc, no red zone (the simulator pushes event
# callback frames below %rsp), baseline x86-64 (Unicorn 2.0.1 rejects v2/v3).
set(HOPSIM_GUEST_DIR ${CMAKE_BINARY_DIR}/guest)
set(HOPSIM_GUEST_INC ${CMAKE_BINARY_DIR}/guest-include)
file(MAKE_DIRECTORY ${HOPSIM_GUEST_DIR} ${HOPSIM_GUEST_INC})
# Only <xen/...> from the system include dir: guest code must not see glibc.
file(CREATE_LINK ${XEN_INCLUDE_DIR}/xen ${HOPSIM_GUEST_INC}/xen SYMBOLIC)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
                OUTPUT_VARIABLE HOPSIM_GCC_INC OUTPUT_STRIP_TRAILING_WHITESPACE)

set(HOPSIM_GUEST_CFLAGS
  -std=c11 -O2 -g -ffreestanding -nostdinc -isystem ${HOPSIM_GCC_INC}
  -fno-pie -mno-red-zone -fno-stack-protector -fno-asynchronous-unwind-tables
  -fcf-protection=none -fno-builtin-printf -march=x86-64 -mtune=generic
  -Wall -Wextra -Werror -Werror=implicit-function-declaration)
# --require-defined pulls workloads/lib/efi_rt.c out of the static runtime into
# every image: any image may run as the UEFI runtime service, whose
# EFI_RUNTIME_SERVICES table points unimplemented services at it.
set(HOPSIM_GUEST_LDFLAGS -nostdlib -static -no-pie -Wl,--build-id=none
  -Wl,--require-defined=efi_rt_unsupported
  -T ${CMAKE_SOURCE_DIR}/workloads/lib/guest.ld)

function(hopsim_guest_flags t)
  target_compile_options(${t} PRIVATE ${HOPSIM_GUEST_CFLAGS})
  target_compile_definitions(${t} PRIVATE ${HOPSIM_XEN_DEFS} HOPSIM_GUEST=1)
  target_include_directories(${t} PRIVATE ${HOPSIM_GUEST_INC} ${CMAKE_SOURCE_DIR}/include
                                          ${CMAKE_SOURCE_DIR}/workloads/lib)
endfunction()

add_custom_target(guest_images ALL)

# add_guest_image(NAME SOURCES...): workloads image NAME.elf in HOPSIM_GUEST_DIR,
# linked with the guest runtime.
function(add_guest_image name)
  add_executable(${name} ${ARGN})
  hopsim_guest_flags(${name})
  target_link_options(${name} PRIVATE ${HOPSIM_GUEST_LDFLAGS})
  target_link_libraries(${name} PRIVATE guest_rt gcc)
  set_target_properties(${name} PROPERTIES SUFFIX ".elf"
    RUNTIME_OUTPUT_DIRECTORY ${HOPSIM_GUEST_DIR}
    LINK_DEPENDS ${CMAKE_SOURCE_DIR}/workloads/lib/guest.ld)
  add_dependencies(guest_images ${name})
endfunction()
