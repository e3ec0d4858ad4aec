#!/bin/sh
echo instance
