export const name = "stack";
