#!/bin/sh
echo pipeline
