import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // .course/ holds what the scripts generate; its stubs/ is the committed exercises/, which the
  // course check lints in place of a learner's half-done files.
  { ignores: ["node_modules/", ".course/*", "!.course/stubs/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-console": "off",
    },
  },
  {
    // A stub is the solution with its bodies taken out: it keeps the solution's imports, constants,
    // fields and parameters for the code the learner will write, so they are unused until then.
    files: ["exercises/**/*.ts", ".course/stubs/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": "off",
      "no-unused-private-class-members": "off",
      "prefer-const": "off",
    },
  },
);
