# CC_CHECK_FLAGS_APPEND(VAR, FLAGS-VAR, FLAGS)
# Appends to VAR every flag in FLAGS the compiler (or linker, for LDFLAGS)
# accepts with -Werror. Unknown flags are dropped silently.
AC_DEFUN([CC_CHECK_FLAGS_APPEND], [
	for flag in $3; do
		AS_VAR_PUSHDEF([cache], [cc_cv_$2_$flag])
		AC_CACHE_CHECK([whether $CC accepts $flag], [cache], [
			saved_$2="$$2"
			$2="$$2 -Werror $flag"
			AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [AS_VAR_SET([cache], [yes])], [AS_VAR_SET([cache], [no])])
			$2="$saved_$2"
		])
		AS_VAR_IF([cache], [yes], [$1="$$1 $flag"])
		AS_VAR_POPDEF([cache])
	done
])
